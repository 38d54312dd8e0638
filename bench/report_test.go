package bench_test

import (
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wshub/wshub/bench"
)

func TestReportAndChart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := filepath.Join(dir, "results.jsonl")
	results := []*bench.Result{
		{Scenario: "broadcast", Name: "broadcast-burst", Label: "wshub", OK: true, PerSecond: 900_000, Latency: &bench.Latency{P50: 100, P99: 300}},
		{Scenario: "broadcast", Name: "broadcast-burst", Label: "gorilla", OK: true, PerSecond: 300_000},
		{Scenario: "broadcast", Name: "broadcast-burst", Label: "raw", OK: true, PerSecond: 450_000},
		{Scenario: "rooms", Name: "rooms", Label: "wshub", OK: false, Failures: []string{"3 of 9 messages lost"}, Latency: &bench.Latency{P99: 50}},
		{Scenario: "rooms", Name: "rooms", Label: "raw", OK: true, Latency: &bench.Latency{P99: 200}, ClientBottleneck: true},
		{Scenario: "idle", Name: "idle", Label: "wshub", OK: true, Idle: &bench.Idle{RSSPerConn: 2000, Points: []bench.IdlePoint{{Conns: 4000, RSS: 1 << 24}, {Conns: 16000, RSS: 1 << 25}}}},
	}
	for _, r := range results {
		if err := bench.WriteResult(r, in, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	var printed strings.Builder
	md := filepath.Join(dir, "latest.md")
	if err := bench.WriteReport(in, md, &printed); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(md)
	report := string(b)
	if report != printed.String() {
		t.Error("the printed report differs from the file")
	}
	for _, want := range []string{
		"## idle", "## broadcast-burst", "## rooms",
		"| wshub | 900,000 |", "2.00×", // 900k against raw's 450k
		"| raw | 450,000 |", "1.00×",
		"4.00×", "FAIL: 3 of 9 messages lost", "⚠", // rooms: p99 200 against wshub's 50, lower is better
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Index(report, "## idle") > strings.Index(report, "## broadcast-burst") {
		t.Error("tables out of order")
	}
	svg := filepath.Join(dir, "latest.svg")
	if err := bench.WriteChart(in, svg); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(svg)
	if err := xml.Unmarshal(b, new(struct{})); err != nil || !strings.Contains(string(b), "gorilla") {
		t.Errorf("chart is not well-formed SVG with every server: %v", err)
	}
}

// TestReportCompression: the compressed tables carry what negotiation
// gave, inflate has its own figures, and each -z table is set beside its
// baseline with the CPU ratio.
func TestReportCompression(t *testing.T) {
	t.Parallel()
	in := filepath.Join(t.TempDir(), "results.jsonl")
	z := func(n int) *bench.Compression {
		return &bench.Compression{Negotiated: n, ZTraffic: bench.ZTraffic{Received: 10, ReceivedWire: 460, Inflated: 1000}}
	}
	heap := int64(48 << 20)
	results := []*bench.Result{
		{Scenario: "broadcast", Name: "broadcast-burst-json", Label: "wshub", OK: true, PerSecond: 1_000_000, Server: bench.Server{CPUPerMillion: 0.5},
			Params: bench.Params{Payload: bench.PayloadJSON}},
		{Scenario: "broadcast", Name: "broadcast-burst-json", Label: "gorilla", OK: true, PerSecond: 100_000, Server: bench.Server{CPUPerMillion: 10}},
		{Scenario: "broadcast", Name: "broadcast-burst-z", Label: "wshub", OK: true, PerSecond: 800_000, Server: bench.Server{CPUPerMillion: 0.75},
			Params: bench.Params{Payload: bench.PayloadJSON, Compress: true}, Conns: 5000, Compression: z(5000)},
		{Scenario: "broadcast", Name: "broadcast-burst-z", Label: "gorilla", OK: true, PerSecond: 50_000, Server: bench.Server{CPUPerMillion: 15},
			Conns: 5000, Compression: z(4999)},
		{Scenario: "idle", Name: "idle", Label: "gws", OK: true, Idle: &bench.Idle{RSSPerConn: 8000}},
		{Scenario: "idle", Name: "idle-z", Label: "gws", OK: true, Idle: &bench.Idle{RSSPerConn: 8500}, Conns: 16000, Compression: z(16000)},
		{Scenario: "inflate", Name: "inflate", Label: "wshub", OK: true, Conns: 1000, Compression: z(1000),
			Inflate: &bench.Inflate{Target: "/echo", Echoed: true, Bytes: 1_310_720_000, CPUPerMB: 11.5, PeakRSS: 64 << 20, PeakHeap: &heap, HeapBefore: &heap}},
		{Scenario: "inflate", Name: "inflate", Label: "gws", OK: true, Conns: 1000, Compression: z(1000),
			Inflate: &bench.Inflate{Target: "/sink", Bytes: 1_310_720_000, CPUPerMB: 4.6, PeakRSS: 40 << 20}},
	}
	report := reportOf(t, in, results)
	for _, want := range []string{
		"## broadcast-burst-json", "JSON-like text, uncompressed.",
		"## broadcast-burst-z", "permessage-deflate negotiated", "| 5000/5000 | 0.46 |", "| 4999/5000 |",
		"## idle-z", "| 16000/16000 |",
		"## inflate", "**server CPU ms/MB**", "| /echo (echoed) | 1,311 |", "| 11.50 |", "| 64.0 |", "| 48.0 |",
		"0.40×", // inflate, lower is better: gws 4.6 against wshub's 11.5
		"## compression: broadcast-burst-z against broadcast-burst-json",
		"| wshub | 1,000,000 | 800,000 | 0.50 | 0.75 | 1.50× | 0.46 | ok |",
		"| gorilla | 100,000 | 50,000 | 10.00 | 15.00 | 1.50× |",
		"## compression: idle-z against idle", "| gws | 8,000 | 8,500 |",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "| 16000/16000 | 0.46") {
		t.Error("idle-z has a wire column: it sends no messages")
	}
	order := []string{"## idle\n", "## idle-z", "## broadcast-burst-json", "## broadcast-burst-z", "## inflate", "## compression:"}
	for i := 1; i < len(order); i++ {
		if strings.Index(report, order[i-1]) > strings.Index(report, order[i]) {
			t.Errorf("%q comes after %q", order[i-1], order[i])
		}
	}
}

// reportOf writes results to the results file in and returns the markdown
// report of it.
func reportOf(t *testing.T, in string, results []*bench.Result) string {
	t.Helper()
	for _, r := range results {
		if err := bench.WriteResult(r, in, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	if err := bench.WriteReport(in, filepath.Join(t.TempDir(), "latest.md"), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
