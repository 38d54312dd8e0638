package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	t.Parallel()
	var stderr strings.Builder
	cfg, o, err := parseFlags([]string{
		"-scenario", "idle", "-idle-at", "10, 30", "-sources", "127.0.0.1-127.0.0.3",
		"-duration", "2s", "-out", "r.jsonl",
	}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Scenario != "idle" || len(cfg.IdleAt) != 2 || cfg.IdleAt[1] != 30 || len(cfg.Sources) != 3 || cfg.Duration != 2*time.Second || o.out != "r.jsonl" {
		t.Errorf("parsed %+v, %+v", cfg, o)
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
