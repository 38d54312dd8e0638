package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wshub/wshub/cluster/clustertest"
	"github.com/wshub/wshub/internal/demo/demotest"
	"github.com/wshub/wshub/internal/wstest"
)

// startStoppable runs the command in-process, as main does, on a free
// port, and returns its address and a function that stops it (cleanup
// stops it too, if the test has not).
func startStoppable(t *testing.T, args ...string) (addr string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, append([]string{"-addr", "127.0.0.1:0", "-log-level", "nothing"}, args...), io.Discard, ready)
	}()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("run did not return within 15 s of its context ending")
		}
	}
	t.Cleanup(stop)
	select {
	case addr = <-ready:
		return addr, stop
	case err := <-errc:
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready within 10 s")
	}
	return "", stop
}

// clusterOf reads the "cluster" object of a node's /stats.
func clusterOf(t *testing.T, addr string) clusterStats {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct {
		Cluster *clusterStats `json:"cluster"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || s.Cluster == nil {
		t.Fatalf("/stats: %v, cluster %v", err, s.Cluster)
	}
	return *s.Cluster
}

// TestClusterChat: three wshub processes' worth of nodes (run, as main
// calls it) with -nats on one NATS server. Named chat clients on different
// nodes see each other in the room's presence, get each other's messages,
// and see a node's members leave when that node stops.
func TestClusterChat(t *testing.T) {
	url := clustertest.StartNATS(t)
	var addrs [3]string
	var stops [3]func()
	for i := range addrs {
		addrs[i], stops[i] = startStoppable(t, "-nats", url, "-node", fmt.Sprintf("n%d", i+1), "-stats")
	}
	for i, a := range addrs {
		wstest.Eventually(t, fmt.Sprintf("node %d hears the other two", i+1), func() bool {
			s := clusterOf(t, a)
			return s.Connected && s.Nodes == 2 && s.NodeID != 0
		})
	}
	// Members join one at a time, each once its node subscribes to the
	// room and its presence room: cross-node presence is exact when a
	// node's subscriptions are in place before another node's member joins
	// (see package demo).
	type member struct {
		name string
		node int
		c    *wstest.Conn
		v    *demotest.View
	}
	var members []*member
	var names []string
	for i, spec := range []struct {
		name string
		node int
	}{{"ann", 0}, {"bob", 1}, {"cat", 2}, {"dan", 0}} {
		c := wstest.Dial(t, addrs[spec.node], "/ws?room=lobby&name="+spec.name)
		m := &member{name: spec.name, node: spec.node, c: c, v: demotest.Watch(c)}
		members = append(members, m)
		names = append(names, spec.name)
		for _, o := range members {
			o.v.WaitFor(t, o.name, sortedCopy(names)...)
		}
		wstest.Eventually(t, fmt.Sprintf("member %d's node subscribes", i), func() bool {
			return clusterOf(t, addrs[spec.node]).Rooms == 2
		})
	}
	// A chat message from node 3 reaches the members on nodes 1 and 2.
	members[2].c.SendText(`{"type":"chat","name":"cat","text":"hello"}`)
	for _, m := range members {
		m.v.WaitChat(t, m.name, "cat", "hello")
	}
	// Node 2 stops: its member leaves everyone else's list.
	stops[1]()
	rest := []*member{members[0], members[2], members[3]}
	for _, m := range rest {
		m.v.WaitFor(t, m.name, "ann", "cat", "dan")
	}
	wstest.Eventually(t, "node 1 forgets node 2", func() bool { return clusterOf(t, addrs[0]).Nodes == 1 })
	s := clusterOf(t, addrs[0])
	if s.Published == 0 || s.Received == 0 || s.Dropped != 0 || s.Conflicts != 0 {
		t.Errorf("node 1's cluster stats %+v", s)
	}
	for _, m := range rest {
		_ = m.c.Close()
	}
	// The largest message is kept under NATS's max_payload (1 MiB here):
	// one just under the new cap crosses nodes, one over it gets 1009.
	for _, a := range []string{addrs[0], addrs[2]} {
		wstest.Eventually(t, "the nodes leave every room", func() bool { return clusterOf(t, a).Rooms == 0 })
	}
	big := wstest.Dial(t, addrs[0], "/ws?room=big")
	far := wstest.Dial(t, addrs[2], "/ws?room=big")
	// Node 3's subscription works once a probe from node 1 gets through
	// (what was published before it reached NATS is lost: at most once).
	got := make(chan error, 1)
	go func() {
		_, err := readPast(far, "")
		got <- err
	}()
	for probing := true; probing; {
		big.SendText("probe")
		select {
		case err := <-got:
			if err != nil {
				t.Fatal(err)
			}
			probing = false
		case <-time.After(50 * time.Millisecond):
		}
	}
	fits := strings.Repeat("x", 1<<20-4096)
	big.SendText(fits)
	if p, err := readPast(far, "probe"); err != nil || len(p) != len(fits) {
		t.Fatalf("node 3 got %d bytes, %v; want %d", len(p), err, len(fits))
	}
	if p, err := readPast(big, "probe"); err != nil || len(p) != len(fits) { // its own, back
		t.Fatalf("node 1 got %d bytes, %v; want %d", len(p), err, len(fits))
	}
	big.SendText(fits + "x")
	big.ExpectClose(1009)
}

// readPast reads c's next message that is not skip.
func readPast(c *wstest.Conn, skip string) ([]byte, error) {
	for {
		_, p, err := c.ReadMessage()
		if err != nil || string(p) != skip {
			return p, err
		}
	}
}

// TestClusterPresenceAtOnce: members of a fresh room join on three nodes
// at the same moment, before any node subscribes to the room: each still
// ends up seeing all of them (the nodes' syncs, once NATS has their
// subscriptions), and each once.
func TestClusterPresenceAtOnce(t *testing.T) {
	url := clustertest.StartNATS(t)
	var addrs [3]string
	for i := range addrs {
		addrs[i], _ = startStoppable(t, "-nats", url, "-node", fmt.Sprintf("n%d", i+1), "-stats")
	}
	for i, a := range addrs {
		wstest.Eventually(t, fmt.Sprintf("node %d hears the other two", i+1), func() bool { return clusterOf(t, a).Nodes == 2 })
	}
	for round := range 3 { // a fresh room each round
		room := fmt.Sprintf("fresh%d", round)
		names := make([]string, 3*2) // two per node
		for i := range names {
			names[i] = fmt.Sprintf("m%d", i)
		}
		conns, views := dialNamed(t, func(i int) string { return addrs[i%3] }, room, names)
		for i, v := range views {
			v.WaitFor(t, names[i], sortedCopy(names)...)
		}
		for _, c := range conns {
			_ = c.Close()
		}
	}
}

// TestNodeIdentity: -node and -node-id, and their defaults.
func TestNodeIdentity(t *testing.T) {
	tests := []struct {
		cfg      config
		name     string // "" : any
		id       uint16 // 0: any non-zero
		wantsErr bool
	}{
		{cfg: config{node: "a", nodeID: 7}, name: "a", id: 7},
		{cfg: config{node: "a"}, name: "a"},
		{cfg: config{node: "a", nodeID: 65536}, wantsErr: true},
		{cfg: config{node: "a", nodeID: -1}, wantsErr: true},
		{cfg: config{addr: "127.0.0.1:8080"}},
	}
	for _, tt := range tests {
		name, id, err := nodeIdentity(tt.cfg)
		switch {
		case tt.wantsErr:
			if err == nil {
				t.Errorf("%+v: no error", tt.cfg)
			}
		case err != nil:
			t.Errorf("%+v: %v", tt.cfg, err)
		case tt.name != "" && name != tt.name, tt.id != 0 && id != tt.id, id == 0:
			t.Errorf("%+v: %q %d", tt.cfg, name, id)
		}
	}
	// The derived ID depends on the name; distinct names rarely share one.
	seen := map[uint16]string{}
	clashes := 0
	for i := range 300 {
		n := fmt.Sprintf("host-%d:8080", i)
		_, id, _ := nodeIdentity(config{node: n})
		if _, ok := seen[id]; ok {
			clashes++
		}
		seen[id] = n
		if _, again, _ := nodeIdentity(config{node: n}); again != id {
			t.Fatalf("%s: IDs %d then %d", n, id, again)
		}
	}
	if clashes > 5 { // about 0.7 expected for 300 names in 65,535
		t.Errorf("%d clashes among 300 derived node IDs", clashes)
	}
}

// TestClusterNodeCrash: a node killed with SIGKILL (no leaves, no
// goodbye) has its members dropped from the other nodes' pages, with a
// "gone" event: once its presence expires (three 1 s intervals, checked
// at the observer's 1 s tick), or at once when it comes back under its ID
// as a new process. Its new members are seen again.
func TestClusterNodeCrash(t *testing.T) {
	url := clustertest.StartNATS(t)
	addr, _ := startStoppable(t, "-nats", url, "-node", "n1", "-node-id", "1", "-stats")
	args := []string{"-addr", "127.0.0.1:0", "-log-level", "nothing", "-nats", url, "-node", "n2", "-node-id", "2", "-stats"}
	p := startWshub(t, args...)
	wstest.Eventually(t, "node 1 hears node 2", func() bool { return clusterOf(t, addr).Nodes == 1 })
	conns, views := dialNamed(t, func(i int) string { return []string{addr, p.addr}[i] }, "crash", []string{"ann", "bob"})
	ann := views[0]
	ann.WaitFor(t, "ann", "ann", "bob")

	// Killed, and gone for good: bob is dropped when node 2 expires.
	_ = p.cmd.Process.Kill()
	p.waitExit(t, 10*time.Second)
	ann.WaitForWithin(t, "ann after node 2 died", 15*time.Second, "ann")
	p = startWshub(t, args...)
	wstest.Eventually(t, "node 1 hears node 2 again", func() bool { return clusterOf(t, addr).Nodes == 1 })
	cat := wstest.Dial(t, p.addr, "/ws?room=crash&name=cat")
	ann.WaitFor(t, "ann after node 2 came back", "ann", "cat")

	// Killed and restarted at once, before it expires: the new process's
	// presence (a new instance under ID 2) drops cat.
	_ = p.cmd.Process.Kill()
	p.waitExit(t, 10*time.Second)
	p = startWshub(t, args...)
	ann.WaitForWithin(t, "ann after node 2 restarted", 15*time.Second, "ann")
	dan := wstest.Dial(t, p.addr, "/ws?room=crash&name=dan")
	ann.WaitFor(t, "ann after dan joined node 2", "ann", "dan")
	for _, c := range []*wstest.Conn{cat, dan, conns[0]} {
		_ = c.Close()
	}
}
