package bench

import (
	"net/netip"
	"strings"
	"testing"
)

// spread counts where connections go: per process and node, per room and
// node, per source and node, as the fleet and the agents place them.
type spread struct {
	perProc   [][]int        // [process][node]
	perRoom   map[int][]int  // [room][node], rooms only
	perSource map[[2]int]int // {source, node}
	roomNodes map[int]map[int]bool
}

func spreadOf(c Config) spread {
	c = c.withDefaults()
	n := len(c.nodes())
	s := spread{perRoom: map[int][]int{}, perSource: map[[2]int]int{}, roomNodes: map[int]map[int]bool{}}
	srcIndex := map[netip.Addr]int{}
	for i, a := range c.Sources {
		srcIndex[a] = i
	}
	for p := range c.Procs {
		counts := make([]int, n)
		lo, hi := share(0, c.totalConns(), c.Procs, p)
		for i := lo; i < hi; i++ {
			node := c.node(i, n)
			counts[node]++
			s.perSource[[2]int{srcIndex[c.source(i, n)], node}]++
			if c.Scenario == ScenarioRooms {
				room := i % c.Rooms
				if s.perRoom[room] == nil {
					s.perRoom[room], s.roomNodes[room] = make([]int, n), map[int]bool{}
				}
				s.perRoom[room][node]++
				s.roomNodes[room][node] = true
			}
		}
		s.perProc = append(s.perProc, counts)
	}
	return s
}

// spreadWithin reports whether the counts differ by at most d.
func spreadWithin(counts []int, d int) bool {
	lo, hi := counts[0], counts[0]
	for _, v := range counts {
		lo, hi = min(lo, v), max(hi, v)
	}
	return hi-lo <= d
}

// TestNodeSpread: connections are spread evenly over the nodes, within
// every process's share too; the broadcast publisher is on the first
// node; every room spans min(members, nodes) nodes with equal shares; one
// node is today's single server.
func TestNodeSpread(t *testing.T) {
	t.Parallel()
	three := "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3"
	tests := []struct {
		name       string
		cfg        Config
		perNode    int // every process's count per node may differ by this much
		roomSpan   int // rooms: nodes every room spans
		maxPerProc int
	}{
		{name: "broadcast, 2 nodes, 1 process", cfg: Config{Scenario: ScenarioBroadcast, Addr: "127.0.0.1:1,127.0.0.1:2", Conns: 1000}, perNode: 0},
		{name: "broadcast, 57k on 3 nodes, 3 processes", cfg: Config{Scenario: ScenarioBroadcast, Addr: three, Conns: 57000, Procs: 3}, perNode: 1, maxPerProc: MaxConnsPerProc},
		{name: "broadcast, 10 on 3 nodes, 4 processes", cfg: Config{Scenario: ScenarioBroadcast, Addr: three, Conns: 10, Procs: 4}, perNode: 1},
		{name: "echo, 7 on 3 nodes", cfg: Config{Scenario: ScenarioEcho, Addr: three, Conns: 7}, perNode: 1},
		{name: "rooms 1000x6 on 3 nodes", cfg: Config{Scenario: ScenarioRooms, Addr: three, Rooms: 1000, Members: 6}, perNode: 0, roomSpan: 3},
		{name: "rooms 10x7 on 3 nodes, 2 processes", cfg: Config{Scenario: ScenarioRooms, Addr: three, Rooms: 10, Members: 7, Procs: 2}, perNode: 2, roomSpan: 3},
		{name: "rooms 9x2 on 3 nodes", cfg: Config{Scenario: ScenarioRooms, Addr: three, Rooms: 9, Members: 2}, perNode: 0, roomSpan: 2},
		{name: "rooms 4x5 on 1 node", cfg: Config{Scenario: ScenarioRooms, Addr: "127.0.0.1:1", Rooms: 4, Members: 5}, perNode: 0, roomSpan: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cfg.withDefaults()
			if err := c.check(); err != nil {
				t.Fatalf("check: %v", err)
			}
			s := spreadOf(c)
			total := make([]int, len(c.nodes()))
			for p, counts := range s.perProc {
				if !spreadWithin(counts, tt.perNode) {
					t.Errorf("process %d: per node %v, want within %d", p, counts, tt.perNode)
				}
				sum := 0
				for k, v := range counts {
					total[k] += v
					sum += v
				}
				if tt.maxPerProc > 0 && sum > tt.maxPerProc {
					t.Errorf("process %d holds %d, over %d", p, sum, tt.maxPerProc)
				}
			}
			if !spreadWithin(total, max(1, tt.perNode)) {
				t.Errorf("per node %v, want within 1", total)
			}
			if c.Scenario == ScenarioBroadcast && c.node(0, len(c.nodes())) != 0 {
				t.Error("the publisher is not on the first node")
			}
			for room, counts := range s.perRoom {
				if len(s.roomNodes[room]) != tt.roomSpan || !spreadWithin(counts, 1) {
					t.Errorf("room %d: per node %v, spans %d nodes, want %d within 1", room, counts, len(s.roomNodes[room]), tt.roomSpan)
				}
			}
		})
	}
}

// TestSourcesPerNode: with several sources, every node gets connections
// from every source in equal shares; one node keeps today's rotation.
func TestSourcesPerNode(t *testing.T) {
	t.Parallel()
	srcs := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")}
	c := Config{Scenario: ScenarioBroadcast, Addr: "127.0.0.1:1,127.0.0.1:2", Conns: 1000, Sources: srcs}
	s := spreadOf(c)
	for src := range 2 {
		for node := range 2 {
			if got := s.perSource[[2]int{src, node}]; got != 250 {
				t.Errorf("source %d to node %d: %d connections, want 250", src, node, got)
			}
		}
	}
	one := Config{Sources: srcs}
	for i := range 5 {
		if got := one.source(i, 1); got != srcs[i%2] {
			t.Errorf("one node: connection %d from %v, want %v", i, got, srcs[i%2])
		}
	}
}

func TestCheckNodes(t *testing.T) {
	t.Parallel()
	two := "127.0.0.1:1,127.0.0.1:2"
	tests := []struct {
		cfg  Config
		want string // in the error; "" = valid
	}{
		{Config{Scenario: ScenarioBroadcast, Addr: two}, ""},
		{Config{Scenario: ScenarioRooms, Addr: two + ",127.0.0.1:3", NodePIDs: []int{1, 2, 3}, NodeStats: []string{"a", "b", "c"}}, ""},
		{Config{Scenario: ScenarioIdle, Addr: two}, "only broadcast, rooms and echo"},
		{Config{Scenario: ScenarioConnect, Addr: two}, "only broadcast, rooms and echo"},
		{Config{Scenario: ScenarioBroadcast, Addr: two, NodePIDs: []int{1, 2, 3}}, "3 PIDs for 2 nodes"},
		{Config{Scenario: ScenarioBroadcast, Addr: two, NodeStats: []string{"a"}}, "1 URLs for 2 nodes"},
		{Config{Scenario: ScenarioBroadcast, Addr: "127.0.0.1:1,nowhere"}, `"nowhere"`},
		{Config{Scenario: ScenarioBroadcast, Addr: " , "}, "no server address"},
		// 90,000 over 3 nodes from one source: 30,000 ports of it per node.
		{Config{Scenario: ScenarioBroadcast, Addr: two + ",127.0.0.1:3", Conns: 90_000, Procs: 5}, "one source address to one node"},
	}
	for _, tt := range tests {
		c := tt.cfg.withDefaults()
		err := c.check()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: %v, want valid", tt.cfg, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s on %s: err = %v, want one with %q", tt.cfg.Scenario, tt.cfg.Addr, err, tt.want)
		}
	}
}

// hist is a histogram of the given microsecond values.
func hist(us ...int64) *Histogram {
	h := new(Histogram)
	for _, v := range us {
		h.Record(v * 1000)
	}
	return h
}

// TestCountNodes: the agents' shares of each node add up, per node.
func TestCountNodes(t *testing.T) {
	t.Parallel()
	cfg := Config{Scenario: ScenarioBroadcast, Addr: "127.0.0.1:1,127.0.0.1:2", Msgs: 10}.withDefaults()
	d := &driver{cfg: cfg, res: newResult(cfg)}
	const first = int64(1e9)
	resps := []response{
		{Nodes: []nodeShare{
			{Conns: 3, Sent: 10, Expected: 30, Delivered: 30, Last: first + 1e6, Latency: hist(100, 200, 300)},
			{Conns: 2, Expected: 20, Delivered: 20, Last: first + 2e6, Latency: hist(400, 500)},
		}},
		{Nodes: []nodeShare{
			{Conns: 2, Expected: 20, Delivered: 20, Last: first + 3e6, Latency: hist(600)},
			{Conns: 3, Expected: 30, Delivered: 27, Last: first + 4e6, Latency: hist(700, 800, 900)},
		}},
	}
	d.countNodes(resps, first)
	want := []Node{
		{Addr: "127.0.0.1:1", Conns: 5, Sent: 10, Expected: 50, Delivered: 50, Lost: 0, PerSecond: 50 / 3e-3},
		{Addr: "127.0.0.1:2", Conns: 5, Expected: 50, Delivered: 47, Lost: 3, PerSecond: 47 / 4e-3},
	}
	r := d.res
	if r.Name != "cluster-broadcast-burst" || r.Params.Nodes != 2 || len(r.Nodes) != 2 {
		t.Fatalf("name %q, %d nodes in params, %d in the result", r.Name, r.Params.Nodes, len(r.Nodes))
	}
	for k, w := range want {
		got := r.Nodes[k]
		l := got.Latency
		got.Latency = nil
		if got.Addr != w.Addr || got.Conns != w.Conns || got.Sent != w.Sent || got.Expected != w.Expected ||
			got.Delivered != w.Delivered || got.Lost != w.Lost || got.PerSecond < w.PerSecond*0.999 || got.PerSecond > w.PerSecond*1.001 {
			t.Errorf("node %d = %+v, want %+v", k, got, w)
		}
		if l == nil || l.Count != uint64(4+k) {
			t.Errorf("node %d latency %+v, want %d samples", k, l, 4+k)
		}
	}
	if l := r.Nodes[1].Latency; l.Max < 890 || l.P50 < 590 || l.P50 > 710 {
		t.Errorf("node 2 latency %+v: want the second agent's 700-900 µs merged in", l)
	}
}

// TestCheckNATS: a cluster run fails unless NATS carried one message per
// published message and other node with members in the room.
func TestCheckNATS(t *testing.T) {
	t.Parallel()
	two, three := "127.0.0.1:1,127.0.0.1:2", "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3"
	stats := func(pub, recv int64) *ClusterStats {
		return &ClusterStats{Connected: true, Published: pub, Received: recv}
	}
	tests := []struct {
		name     string
		cfg      Config
		conns    []int
		sent     int64
		after    []*ClusterStats // deltas: before is zero
		want     string          // in a failure; "" = OK
		wantPer  float64
		noReport bool
	}{
		{name: "broadcast, one per node", cfg: Config{Scenario: ScenarioBroadcast, Addr: two}, conns: []int{100, 100}, sent: 20,
			after: []*ClusterStats{stats(20, 0), stats(0, 20)}, wantPer: 1},
		{name: "broadcast, one per recipient", cfg: Config{Scenario: ScenarioBroadcast, Addr: two}, conns: []int{100, 100}, sent: 20,
			after: []*ClusterStats{stats(20, 0), stats(0, 2000)}, want: "not one per recipient", wantPer: 1},
		{name: "broadcast, published twice", cfg: Config{Scenario: ScenarioBroadcast, Addr: two}, conns: []int{100, 100}, sent: 20,
			after: []*ClusterStats{stats(40, 0), stats(0, 20)}, want: "handed 40 messages to NATS for 20", wantPer: 1},
		{name: "broadcast, some not delivered", cfg: Config{Scenario: ScenarioBroadcast, Addr: two}, conns: []int{100, 100}, sent: 20,
			after: []*ClusterStats{stats(20, 0), stats(0, 19)}, want: "delivered 19 of the 20", wantPer: 1},
		{name: "broadcast, one node has nobody", cfg: Config{Scenario: ScenarioBroadcast, Addr: three}, conns: []int{100, 0, 100}, sent: 20,
			after: []*ClusterStats{stats(20, 0), stats(0, 0), stats(0, 20)}, wantPer: 1},
		{name: "rooms of 6 on 3 nodes", cfg: Config{Scenario: ScenarioRooms, Addr: three, Rooms: 10, Members: 6}, conns: []int{20, 20, 20}, sent: 600,
			after: []*ClusterStats{stats(200, 400), stats(200, 400), stats(200, 400)}, wantPer: 2},
		{name: "rooms of 2 on 3 nodes", cfg: Config{Scenario: ScenarioRooms, Addr: three, Rooms: 9, Members: 2}, conns: []int{6, 6, 6}, sent: 180,
			after: []*ClusterStats{stats(60, 60), stats(60, 60), stats(60, 60)}, wantPer: 1},
		{name: "rooms on 1 node", cfg: Config{Scenario: ScenarioRooms, Addr: "127.0.0.1:1", Cluster: true, Rooms: 9, Members: 2}, conns: []int{18}, sent: 180,
			after: []*ClusterStats{stats(180, 0)}, wantPer: 0},
		{name: "a node without stats", cfg: Config{Scenario: ScenarioBroadcast, Addr: two}, conns: []int{100, 100}, sent: 20,
			after: []*ClusterStats{stats(20, 0), nil}, noReport: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &driver{cfg: tt.cfg.withDefaults(), res: newResult(tt.cfg)}
			r := d.res
			r.Sent = tt.sent
			for k, c := range tt.conns {
				r.Nodes[k].Conns = c
			}
			before := clusterMark{nodes: make([]*ClusterStats, len(tt.after))}
			for k, s := range tt.after {
				if s != nil {
					before.nodes[k] = &ClusterStats{}
				}
			}
			d.natsFigures(before, clusterMark{nodes: tt.after})
			if tt.noReport {
				if r.NATS != nil || !r.OK {
					t.Errorf("NATS %+v, OK %v: want no figures and no failure", r.NATS, r.OK)
				}
				return
			}
			if r.NATS == nil {
				t.Fatal("no NATS figures")
			}
			if r.NATS.WantPer != tt.wantPer {
				t.Errorf("want %.2f per message, want %.2f", r.NATS.WantPer, tt.wantPer)
			}
			failures := strings.Join(r.Failures, "; ")
			switch {
			case tt.want == "" && !r.OK:
				t.Errorf("failed: %s", failures)
			case tt.want != "" && !strings.Contains(failures, tt.want):
				t.Errorf("failures %q, want one with %q", failures, tt.want)
			}
		})
	}
}

// TestSourceWarning: more connections from one source than it has ports,
// to several nodes together, is slow but possible: a warning.
func TestSourceWarning(t *testing.T) {
	t.Parallel()
	three := "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3"
	srcs := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")}
	tests := []struct {
		cfg  Config
		warn bool
	}{
		{Config{Scenario: ScenarioBroadcast, Addr: three, Conns: 57000, Procs: 3}, true},
		{Config{Scenario: ScenarioBroadcast, Addr: three, Conns: 57000, Procs: 3, Sources: srcs}, false},
		{Config{Scenario: ScenarioBroadcast, Addr: three, Conns: 28000, Procs: 2}, false},
		{Config{Scenario: ScenarioBroadcast, Addr: "127.0.0.1:1", Conns: 19000}, false},
	}
	for _, tt := range tests {
		c := tt.cfg.withDefaults()
		if w := c.sourceWarning(); (w != "") != tt.warn || tt.warn && !strings.Contains(w, "-sources") {
			t.Errorf("%d conns from %d sources: warning %q, want one: %v", c.Conns, len(c.Sources), w, tt.warn)
		}
	}
}
