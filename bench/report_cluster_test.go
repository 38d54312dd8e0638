package bench_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/wshub/wshub/bench"
)

// TestReportCluster: a cluster table has a row per node count of each
// server, set against its 1-node run, each node's figures, and for rooms
// whether the p99 target is met; the plain table beside it is unchanged.
func TestReportCluster(t *testing.T) {
	t.Parallel()
	in := filepath.Join(t.TempDir(), "results.jsonl")
	f := func(v float64) *float64 { return &v }
	node := func(addr string, conns int, rate, p99 float64, lost int64, pub, recv int64) bench.Node {
		return bench.Node{Addr: addr, Conns: conns, PerSecond: rate, Lost: lost, Latency: &bench.Latency{P50: p99 / 2, P99: p99},
			NATS: &bench.NodeNATS{Published: pub, Received: recv}}
	}
	results := []*bench.Result{
		{Scenario: "broadcast", Name: "broadcast-burst", Label: "wshub", OK: true, PerSecond: 900_000},
		{Scenario: "broadcast", Name: "cluster-broadcast-burst", Label: "wshub", OK: true, PerSecond: 1_000_000, Sent: 200,
			Params: bench.Params{Nodes: 1}, Latency: &bench.Latency{P50: 5000, P99: 10_000},
			Nodes: []bench.Node{node("127.0.0.1:1", 5000, 1_000_000, 10_000, 0, 200, 0)},
			NATS:  &bench.NATS{Published: 200, PublishedPer: 1}},
		{Scenario: "broadcast", Name: "cluster-broadcast-burst", Label: "wshub", OK: true, PerSecond: 800_000, Sent: 200,
			Params: bench.Params{Nodes: 2}, Latency: &bench.Latency{P50: 6000, P99: 12_500},
			Nodes: []bench.Node{node("127.0.0.1:2", 2500, 700_000, 8000, 0, 200, 0), node("127.0.0.1:3", 2500, 420_000, 12_500, 0, 0, 200)},
			NATS:  &bench.NATS{Published: 200, Received: 200, PublishedPer: 1, ReceivedPer: 1, WantPer: 1, InPer: f(1.01), OutPer: f(1.02)}},
		{Scenario: "rooms", Name: "cluster-rooms", Label: "wshub", OK: true, Params: bench.Params{Nodes: 1}, Latency: &bench.Latency{P99: 1000}},
		{Scenario: "rooms", Name: "cluster-rooms", Label: "wshub", OK: true, Params: bench.Params{Nodes: 3}, Latency: &bench.Latency{P99: 2500},
			NATS: &bench.NATS{PublishedPer: 1, ReceivedPer: 2, WantPer: 2}},
	}
	report := reportOf(t, in, results)
	for _, want := range []string{
		"## broadcast-burst", "| wshub | 900,000 |",
		"## cluster-broadcast-burst", "Receivers spread evenly over the nodes, the publisher on the first.",
		"| wshub | 1 | 1,000,000 |", "| wshub | 2 | 800,000 |", "0.80×", // against 1 node
		"| 1.00, 1.00 |",
		"| wshub · 2 nodes | 2/2 127.0.0.1:3 | 2500 | 0 | 420,000 | 6,250 | 12,500 | 0 | 0 | 200 |",
		"deliveries/s 1,000,000 → 800,000 (0.80×); p99 10,000 → 12,500 µs (+2,500 µs, 1.25×)",
		"nats-server in 1.01, out 1.02",
		"## cluster-rooms", "0.40×", "target p99 within 2× of 1 node: NOT met",
		"Cluster tables (cluster-…)",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Index(report, "## cluster-broadcast-burst") < strings.Index(report, "## broadcast-burst") {
		t.Error("cluster tables before the plain ones")
	}
}
