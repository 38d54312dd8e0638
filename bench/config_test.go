package bench_test

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/wshub/wshub/bench"
)

func TestParseSources(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"127.0.0.1", []string{"127.0.0.1"}, true},
		{"127.0.0.1, 127.0.0.5", []string{"127.0.0.1", "127.0.0.5"}, true},
		{"127.0.0.254-127.0.1.1", []string{"127.0.0.254", "127.0.0.255", "127.0.1.0", "127.0.1.1"}, true},
		{"127.0.0.3-127.0.0.1", nil, false},
		{"localhost", nil, false},
		{"", nil, false},
	}
	for _, tt := range tests {
		got, err := bench.ParseSources(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseSources(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		var s []string
		for _, a := range got {
			s = append(s, a.String())
		}
		if strings.Join(s, ",") != strings.Join(tt.want, ",") {
			t.Errorf("ParseSources(%q) = %v, want %v", tt.in, s, tt.want)
		}
	}
}

// TestRunRefusesTooManyConnsPerProcess: the open-file limit is 20,000, so
// a process holds at most 19,000 connections; the error names -procs.
func TestRunRefusesTooManyConnsPerProcess(t *testing.T) {
	t.Parallel()
	tests := []bench.Config{
		{Scenario: bench.ScenarioBroadcast, Conns: 19_001},
		{Scenario: bench.ScenarioIdle, IdleAt: []int{4000, 40_000}, Procs: 2},
		{Scenario: bench.ScenarioRooms, Rooms: 1000, Members: 20},
	}
	for _, cfg := range tests {
		cfg.Addr = "127.0.0.1:1"
		cfg.Sources = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
		_, err := bench.Run(context.Background(), cfg, io.Discard)
		if !errors.Is(err, bench.ErrTooManyConns) || !strings.Contains(err.Error(), "-procs") {
			t.Errorf("%s: err = %v, want ErrTooManyConns naming -procs", cfg.Scenario, err)
		}
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	t.Parallel()
	tests := []bench.Config{
		{Scenario: "flood", Addr: "127.0.0.1:1"},
		{Scenario: bench.ScenarioBroadcast, Addr: "127.0.0.1:1", Size: 8},
		{Scenario: bench.ScenarioBroadcast, Addr: "127.0.0.1:1", Mode: "trickle"},
		{Scenario: bench.ScenarioIdle, Addr: "127.0.0.1:1", IdleAt: []int{100, 50}},
		{Scenario: bench.ScenarioEcho, Addr: "nowhere"},
		{Scenario: bench.ScenarioIdle, Addr: "127.0.0.1:1", IdleAt: []int{1000, 30_000}, Procs: 2}, // one source: out of ports
	}
	for _, cfg := range tests {
		if _, err := bench.Run(context.Background(), cfg, io.Discard); !errors.Is(err, bench.ErrConfig) {
			t.Errorf("%+v: err = %v, want ErrConfig", cfg, err)
		}
	}
}
