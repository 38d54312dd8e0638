package bench_test

import (
	"encoding/binary"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wshub/wshub/bench"
	"github.com/wshub/wshub/engine"
)

// fakeNode is one server of a fakeCluster, with the counters of a wshub
// node's /stats cluster object.
type fakeNode struct {
	srv       *engine.Server
	published atomic.Int64
	received  atomic.Int64
}

// fakeCluster is chat servers that relay every room message to the other
// servers with members in the room, as wshub's nodes do through NATS, and
// count it as those do: published once by the sender's node, received
// once by every other node with members (perRecipient: once per member
// there, the fault the run must catch). lose drops what node k would get.
type fakeCluster struct {
	nodes        []*fakeNode
	perRecipient bool
	lose         func(k int, payload []byte) bool
}

func startFakeCluster(t *testing.T, n int, fc *fakeCluster) *fakeCluster {
	t.Helper()
	for k := range n {
		node := &fakeNode{srv: engine.New(engine.WithLoops(1))}
		fc.nodes = append(fc.nodes, node)
		node.srv.Handle("/ws", engine.Handler{
			OnConnect: func(c *engine.Conn) {
				q, _ := c.Query()
				c.SetValue(q.Get("room"))
				_ = c.Join(q.Get("room"))
			},
			OnMessage: func(c *engine.Conn, op engine.OpCode, p []byte) { fc.relay(k, c.Value().(string), op, p) },
		})
		node.srv.HandleHTTP("/stats", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_ = json.NewEncoder(w).Encode(map[string]any{"cluster": map[string]any{
				"node": "fake", "connected": true, "published": node.published.Load(), "received": node.received.Load(),
			}})
		}))
		if err := node.srv.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stopChat(t, node.srv) })
	}
	return fc
}

func (fc *fakeCluster) relay(from int, room string, op engine.OpCode, p []byte) {
	src := fc.nodes[from]
	_ = src.srv.Publish(room, op, p)
	src.published.Add(1)
	for k, n := range fc.nodes {
		members := n.srv.Members(room)
		if k == from || members == 0 || fc.lose != nil && fc.lose(k, p) {
			continue
		}
		_ = n.srv.Publish(room, op, p)
		if fc.perRecipient {
			n.received.Add(int64(members))
		} else {
			n.received.Add(1)
		}
	}
}

// runCluster runs cfg on the fake cluster's nodes, from two worker
// processes.
func runCluster(t *testing.T, fc *fakeCluster, cfg bench.Config) *bench.Result {
	t.Helper()
	var addrs []string
	for _, n := range fc.nodes {
		a := n.srv.Addr().String()
		addrs = append(addrs, a)
		cfg.NodeStats = append(cfg.NodeStats, "http://"+a+"/stats")
	}
	cfg.WorkerCommand, cfg.WorkerEnv, cfg.Procs = []string{os.Args[0], "-test.run=^$"}, []string{workerEnv}, 2
	return run(t, strings.Join(addrs, ","), cfg)
}

// checkNodes checks every node's share: the connections spread evenly,
// each node's deliveries, and NATS at want per published message.
func checkNodes(t *testing.T, res *bench.Result, nodes, perConn int, want float64) {
	t.Helper()
	if len(res.Nodes) != nodes || res.Params.Nodes != nodes || !strings.HasPrefix(res.Name, "cluster-") {
		t.Fatalf("%d nodes (params %d), name %q: want %d, cluster-…", len(res.Nodes), res.Params.Nodes, res.Name, nodes)
	}
	var sent int64
	for k, n := range res.Nodes {
		if d := n.Conns - res.Conns/nodes; d < 0 || d > 1 {
			t.Errorf("node %d: %d of %d connections, want an even share", k, n.Conns, res.Conns)
		}
		if n.Expected != int64(n.Conns*perConn) || n.Delivered != n.Expected || n.Lost != 0 || n.Latency == nil || n.PerSecond <= 0 {
			t.Errorf("node %d: %+v, want %d delivered to each of its %d connections", k, n, perConn, n.Conns)
		}
		sent += n.Sent
	}
	if sent != res.Sent {
		t.Errorf("nodes sent %d, the run %d", sent, res.Sent)
	}
	x := res.NATS
	if x == nil || x.PublishedPer != 1 || x.ReceivedPer != want || x.WantPer != want {
		t.Errorf("NATS %+v, want 1 published and %g received per message", x, want)
	}
}

// TestClusterBroadcast: receivers on both nodes, the publisher on the
// first; every node gets each message once from the other.
func TestClusterBroadcast(t *testing.T) {
	t.Parallel()
	fc := startFakeCluster(t, 2, &fakeCluster{})
	res := runCluster(t, fc, bench.Config{Scenario: bench.ScenarioBroadcast, Conns: 41, Msgs: 10})
	checkDelivered(t, res, 41*10)
	checkNodes(t, res, 2, 10, 1)
	if res.Nodes[0].Sent != 10 || res.Nodes[1].Sent != 0 {
		t.Errorf("sent from node 1: %d, node 2: %d; want all 10 from the first", res.Nodes[0].Sent, res.Nodes[1].Sent)
	}
}

// TestClusterRooms: rooms of 5 spread over 3 nodes; a message goes to the
// two other nodes.
func TestClusterRooms(t *testing.T) {
	t.Parallel()
	fc := startFakeCluster(t, 3, &fakeCluster{})
	res := runCluster(t, fc, bench.Config{Scenario: bench.ScenarioRooms, Rooms: 6, Members: 5, Rate: 20, Duration: 300 * time.Millisecond})
	checkDelivered(t, res, 30*6*5)
	checkNodes(t, res, 3, 6*5, 2)
}

// TestClusterPerRecipientFails: nothing is lost, but the nodes got a
// message per recipient from NATS: the run fails, saying so.
func TestClusterPerRecipientFails(t *testing.T) {
	t.Parallel()
	fc := startFakeCluster(t, 2, &fakeCluster{perRecipient: true})
	res := runCluster(t, fc, bench.Config{Scenario: bench.ScenarioBroadcast, Conns: 20, Msgs: 5})
	if res.OK || res.Lost != 0 || !strings.Contains(strings.Join(res.Failures, ";"), "not one per recipient") {
		t.Errorf("OK %v, lost %d, failures %v: want a failure for one per recipient", res.OK, res.Lost, res.Failures)
	}
	if res.NATS == nil || res.NATS.ReceivedPer != 10 {
		t.Errorf("NATS %+v, want 10 received per message (the second node's members)", res.NATS)
	}
}

// TestClusterLossPerNode: what the second node loses is counted on it,
// not on the first.
func TestClusterLossPerNode(t *testing.T) {
	t.Parallel()
	seq5 := func(k int, p []byte) bool { return k == 1 && len(p) >= 16 && binary.BigEndian.Uint64(p[8:]) == 5 }
	fc := startFakeCluster(t, 2, &fakeCluster{lose: seq5})
	res := runCluster(t, fc, bench.Config{Scenario: bench.ScenarioBroadcast, Conns: 20, Msgs: 8, Drain: 300 * time.Millisecond})
	if res.OK || res.Lost != 10 || len(res.Nodes) != 2 || res.Nodes[0].Lost != 0 || res.Nodes[1].Lost != 10 {
		t.Fatalf("OK %v, lost %d, nodes %+v: want 10 lost, all on the second node", res.OK, res.Lost, res.Nodes)
	}
	if !strings.Contains(strings.Join(res.Failures, ";"), "delivered 7 of the 8") {
		t.Errorf("failures %v: want NATS's 7 of 8 named", res.Failures)
	}
}
