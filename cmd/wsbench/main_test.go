package main

import (
	"strings"
	"testing"
	"time"

	"github.com/wshub/wshub/bench"
)

func TestParseFlags(t *testing.T) {
	t.Parallel()
	var stderr strings.Builder
	cfg, o, err := parseFlags([]string{
		"-scenario", "idle", "-idle-at", "10, 30", "-sources", "127.0.0.1-127.0.0.3",
		"-duration", "2s", "-out", "r.jsonl", "-compression", "-payload", "json", "-size", "1024",
	}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Scenario != "idle" || len(cfg.IdleAt) != 2 || cfg.IdleAt[1] != 30 || len(cfg.Sources) != 3 || cfg.Duration != 2*time.Second || o.out != "r.jsonl" {
		t.Errorf("parsed %+v, %+v", cfg, o)
	}
	if !cfg.Compression || cfg.Payload != bench.PayloadJSON || cfg.Size != 1024 {
		t.Errorf("compression %v, payload %q, size %d; want true, json, 1024", cfg.Compression, cfg.Payload, cfg.Size)
	}
}

// TestInflateNeedsCompression: the inflate scenario without -compression
// is a usage error, before anything is dialled.
func TestInflateNeedsCompression(t *testing.T) {
	t.Parallel()
	var stderr strings.Builder
	if code := run([]string{"-scenario", "inflate", "-addr", "127.0.0.1:9"}, nil, nil, &stderr); code != 2 || !strings.Contains(stderr.String(), "-compression") {
		t.Errorf("exit %d, want 2 with a word on -compression; stderr %s", code, stderr.String())
	}
}

func TestUsageHidesWorker(t *testing.T) {
	t.Parallel()
	var stderr strings.Builder
	if code := run([]string{"-h"}, nil, nil, &stderr); code != 0 {
		t.Errorf("-h exits %d", code)
	}
	if strings.Contains(stderr.String(), "-worker ") || !strings.Contains(stderr.String(), "-procs") {
		t.Errorf("usage:\n%s", stderr.String())
	}
}

func TestBadFlagsExit2(t *testing.T) {
	t.Parallel()
	var stderr strings.Builder
	if code := run([]string{"-sources", "nowhere"}, nil, nil, &stderr); code != 2 {
		t.Errorf("exit %d, want 2; stderr %s", code, stderr.String())
	}
}
