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
