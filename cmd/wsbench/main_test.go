package main

import (
	"slices"
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

// TestParseFlagsNodes: -server-pid and -stats-url take one item per node;
// one item is the single server's, as before.
func TestParseFlagsNodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args      []string
		pid       int
		pids      []int
		stats     string
		nodeStats []string
	}{
		{args: []string{"-server-pid", "7", "-stats-url", "http://a/stats"}, pid: 7, stats: "http://a/stats"},
		{args: []string{"-addr", "127.0.0.1:1,127.0.0.1:2", "-server-pid", "7, 8", "-stats-url", "http://a/stats,http://b/stats"},
			pid: 7, pids: []int{7, 8}, stats: "http://a/stats", nodeStats: []string{"http://a/stats", "http://b/stats"}},
	}
	for _, tt := range tests {
		var stderr strings.Builder
		cfg, _, err := parseFlags(tt.args, &stderr)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if cfg.ServerPID != tt.pid || !slices.Equal(cfg.NodePIDs, tt.pids) || cfg.StatsURL != tt.stats || !slices.Equal(cfg.NodeStats, tt.nodeStats) {
			t.Errorf("%v: pid %d %v, stats %q %v; want %d %v, %q %v", tt.args, cfg.ServerPID, cfg.NodePIDs, cfg.StatsURL, cfg.NodeStats, tt.pid, tt.pids, tt.stats, tt.nodeStats)
		}
	}
	var stderr strings.Builder
	if cfg, _, err := parseFlags([]string{"-cluster", "-name", "cluster-57k"}, &stderr); err != nil || !cfg.Cluster || cfg.Name != "cluster-57k" {
		t.Errorf("-cluster -name: %+v, %v", cfg, err)
	}
	if _, _, err := parseFlags([]string{"-server-pid", "x"}, &stderr); err == nil {
		t.Error("-server-pid x parsed")
	}
}

// TestNodesWithoutEnoughPIDsExit2: a PID per node or none.
func TestNodesWithoutEnoughPIDsExit2(t *testing.T) {
	t.Parallel()
	var stderr strings.Builder
	code := run([]string{"-addr", "127.0.0.1:9,127.0.0.1:10,127.0.0.1:11", "-server-pid", "1,2"}, nil, nil, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "2 PIDs for 3 nodes") {
		t.Errorf("exit %d, stderr %s; want 2 naming the PIDs", code, stderr.String())
	}
}
