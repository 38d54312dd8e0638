package clustertest_test

import (
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/nats-io/nats.go"

	"github.com/wshub/wshub/cluster"
	"github.com/wshub/wshub/cluster/clustertest"
	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/wstest"
)

func TestMain(m *testing.M) {
	wstest.VerifyNoLeaks(m, "nats-server", "github.com/nats-io/nats-server")
}

// node is one wshub server in the cluster, its Node, and the connections
// it holds by the IDs the clients were told.
type node struct {
	srv *engine.Server
	n   *cluster.Node
	nc  *nats.Conn
	id  uint16
}

// startNode runs a wshub server with node ID id joined to the cluster at
// url. Its route /ws?room=R joins room R and tells the client its ID;
// a message "pub R TEXT" publishes TEXT to room R across the cluster,
// "all TEXT" broadcasts it, "to ID TEXT" sends it to connection ID, and
// "leave R" leaves room R.
func startNode(t *testing.T, url string, id uint16) *node {
	t.Helper()
	return startNodeWith(t, url, id, cluster.Options{PresenceInterval: 100 * time.Millisecond})
}

func startNodeWith(t *testing.T, url string, id uint16, o cluster.Options) *node {
	t.Helper()
	// Odd nodes ask NATS not to echo their messages; even ones get them
	// back and must drop them themselves.
	var opts []nats.Option
	if id%2 == 1 {
		opts = append(opts, nats.NoEcho())
	}
	opts = append(opts, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	nd := &node{id: id, srv: engine.New(engine.WithNodeID(id), engine.WithLoops(2))}
	nd.srv.Handle("/ws", engine.Handler{
		OnConnect: func(c *engine.Conn) {
			if q, _ := c.Query(); q.Get("room") != "" {
				r := q.Get("room")
				_ = c.Join(r)
			}
			_ = c.SendText(fmt.Sprintf("id %d", c.ID()))
		},
		OnMessage: func(c *engine.Conn, _ engine.OpCode, p []byte) {
			verb, rest, _ := strings.Cut(string(p), " ")
			switch verb {
			case "pub":
				room, text, _ := strings.Cut(rest, " ")
				_ = nd.n.Publish(room, engine.OpText, []byte(text))
			case "all":
				_ = nd.n.Broadcast(engine.OpText, []byte(rest))
			case "to":
				var target uint64
				var text string
				fmt.Sscanf(rest, "%d %s", &target, &text)
				_ = nd.n.SendTo(target, engine.OpText, []byte(text))
			case "leave":
				_ = c.Leave(rest)
			}
		},
	})
	nd.nc = nc
	if nd.n, err = cluster.Join(nd.srv, nc, o); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nd.n.Close() })
	wstest.Start(t, nd.srv)
	return nd
}

// client is a raw WebSocket client with the ID its server told it.
type client struct {
	*wstest.Conn
	id uint64
}

func dial(t *testing.T, nd *node, room string) *client {
	t.Helper()
	c := wstest.Dial(t, nd.srv.Addr().String(), "/ws?room="+room)
	_, p, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var id uint64
	if _, err := fmt.Sscanf(string(p), "id %d", &id); err != nil {
		t.Fatalf("greeting %q", p)
	}
	return &client{Conn: c, id: id}
}

func (c *client) expect(t *testing.T, want string) {
	t.Helper()
	_, p, err := c.ReadMessage()
	if err != nil || string(p) != want {
		t.Fatalf("client %#x: got %q, %v; want %q", c.id, p, err, want)
	}
}

// waitRooms waits until nd subscribes to exactly rooms.
func waitRooms(t *testing.T, nd *node, rooms ...string) {
	t.Helper()
	wstest.Eventually(t, fmt.Sprintf("node %d subscribes to %v", nd.id, rooms), func() bool {
		got := nd.n.Subscribed()
		slices.Sort(got)
		return slices.Equal(got, rooms)
	})
	// The node does not wait for NATS to confirm a subscription; a round
	// trip on its connection does.
	if err := nd.nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestCluster: three nodes on one NATS. A room publish reaches every
// member on every node once and in order, a broadcast every connection, a
// send by ID the connection wherever it is; a node subscribes only to the
// rooms it has members in.
func TestCluster(t *testing.T) {
	url := clustertest.StartNATS(t)
	nodes := []*node{startNode(t, url, 1), startNode(t, url, 2), startNode(t, url, 3)}
	a := dial(t, nodes[0], "chat")
	b := dial(t, nodes[1], "chat")
	c := dial(t, nodes[2], "other")
	waitRooms(t, nodes[0], "chat")
	waitRooms(t, nodes[1], "chat")
	waitRooms(t, nodes[2], "other")

	// A room publish from node 1: a (local) and b (node 2), not c.
	const n = 200
	for i := range n {
		a.SendText(fmt.Sprintf("pub chat m%d", i))
	}
	for i := range n {
		a.expect(t, fmt.Sprintf("m%d", i))
		b.expect(t, fmt.Sprintf("m%d", i))
	}
	// A broadcast from node 3 reaches all three, once each.
	c.SendText("all hello")
	for _, cl := range []*client{a, b, c} {
		cl.expect(t, "hello")
	}
	// Sends by ID, across nodes and to the sender's own node.
	c.SendText(fmt.Sprintf("to %d for-a", a.id))
	a.expect(t, "for-a")
	a.SendText(fmt.Sprintf("to %d for-c", c.id))
	c.expect(t, "for-c")
	// Node 3 joins chat when its client does, and leaves it when it goes.
	d := dial(t, nodes[2], "chat")
	waitRooms(t, nodes[2], "chat", "other")
	b.SendText("pub chat everyone")
	for _, cl := range []*client{a, b, d} {
		cl.expect(t, "everyone")
	}
	d.SendText("leave chat")
	waitRooms(t, nodes[2], "other")
	// Nothing arrived twice: the next message each gets is the marker.
	a.SendText("all end")
	for _, cl := range []*client{a, b, c, d} {
		cl.expect(t, "end")
	}
	for i, nd := range nodes {
		st := nd.n.Stats()
		if !st.Connected || st.Dropped != 0 || st.SlowDropped != 0 {
			t.Errorf("node %d: %+v", i+1, st)
		}
	}
}

// TestRoomTokens: room names that are not subject tokens still work.
func TestRoomTokens(t *testing.T) {
	url := clustertest.StartNATS(t)
	n1, n2 := startNode(t, url, 1), startNode(t, url, 2)
	for _, room := range []string{"a.b", "*", ">", "é", "~x", "-_x9"} {
		a := dial(t, n1, urlEscape(room))
		b := dial(t, n2, urlEscape(room))
		waitRooms(t, n2, room)
		a.SendText("pub " + room + " hi")
		b.expect(t, "hi")
		_ = a.Close()
		_ = b.Close()
		waitRooms(t, n2)
	}
}

func urlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// TestNATSRestart: NATS goes away mid-stream and comes back on the same
// address. Meanwhile local delivery goes on and the nodes say they are
// disconnected; once NATS is back they reconnect, their subscriptions
// with them, and cross-node delivery resumes. What crossed arrives in
// order, at most once.
func TestNATSRestart(t *testing.T) {
	ns := clustertest.RunNATS(t, -1)
	url := ns.ClientURL()
	port := ns.Addr().(*net.TCPAddr).Port
	n1, n2 := startNode(t, url, 1), startNode(t, url, 2)
	a, b := dial(t, n1, "r"), dial(t, n2, "r")
	waitRooms(t, n1, "r")
	waitRooms(t, n2, "r")
	a.SendText("pub r before")
	a.expect(t, "before")
	b.expect(t, "before")

	ns.Shutdown()
	ns.WaitForShutdown()
	wstest.Eventually(t, "nodes see NATS gone", func() bool { return !n1.n.Stats().Connected && !n2.n.Stats().Connected })
	for i := range 20 {
		a.SendText(fmt.Sprintf("pub r down%d", i))
		a.expect(t, fmt.Sprintf("down%d", i)) // local delivery goes on
	}

	ns2 := clustertest.RunNATS(t, port)
	wstest.Eventually(t, "nodes reconnect", func() bool { return n1.n.Stats().Connected && n2.n.Stats().Connected })
	// Messages sent while down may arrive (nats.go buffered them) or not;
	// each at most once, in order, and then what is sent now.
	deadline := time.Now().Add(wstest.Timeout)
	for i := 0; ; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("cross-node delivery did not resume: node 1 %+v, node 2 %+v, NATS has %d subscriptions",
				n1.n.Stats(), n2.n.Stats(), ns2.NumSubscriptions())
		}
		a.SendText(fmt.Sprintf("pub r after%d", i))
		a.expect(t, fmt.Sprintf("after%d", i))
		if got := readUntilAfter(t, b); got {
			break
		}
	}
}

// readUntilAfter reads b's messages until none comes for 200 ms: "downN"
// in increasing order, then an "afterN"; it reports whether one came.
// (A message published the moment both nodes are back may still be lost,
// at most once: the other node's subscriptions may not have reached the
// new NATS server yet. The caller sends again.)
func readUntilAfter(t *testing.T, b *client) bool {
	t.Helper()
	last := -1
	for {
		// Not ReadFrame: it waits up to wstest.Timeout.
		_ = b.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		h, err := ws.ReadHeader(b.R)
		if err != nil {
			return false
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(b.R, p); err != nil {
			t.Fatalf("read a frame's payload: %v", err)
		}
		if h.OpCode != ws.OpText {
			continue
		}
		if strings.HasPrefix(string(p), "after") {
			return true
		}
		var k int
		if _, err := fmt.Sscanf(string(p), "down%d", &k); err != nil || k <= last {
			t.Fatalf("got %q after down%d: out of order or twice", p, last)
		}
		last = k
	}
}

// TestPresence: every node counts every node's members (within about one
// presence interval); a node that vanishes (its NATS connection dropped)
// stops counting after three of its intervals, one that leaves (Close) at
// once, and a node that announces slowly is not dropped between its
// snapshots.
func TestPresence(t *testing.T) {
	url := clustertest.StartNATS(t)
	n1 := startNode(t, url, 1)
	// Node 2 announces slowly: the others forget it early only by its
	// goodbye (its snapshots are good for six seconds).
	n2 := startNodeWith(t, url, 2, cluster.Options{PresenceInterval: 2 * time.Second})
	n3 := startNode(t, url, 3)
	dial(t, n1, "r")
	dial(t, n1, "r")
	dial(t, n2, "r")
	dial(t, n3, "s")
	want := func(what string, nd *node, rooms string) {
		t.Helper()
		wstest.Eventually(t, fmt.Sprintf("node %d: %s: %s", nd.id, what, rooms), func() bool {
			return fmt.Sprint(nd.n.AllRooms()) == rooms
		})
	}
	for _, nd := range []*node{n1, n2, n3} {
		want("every room counted", nd, "[{r 3} {s 1}]")
	}
	// Node 1 checks often, node 2 announces every 2 s: node 2 is counted
	// all along.
	for range 30 {
		if k := n1.n.Members("r"); k != 3 {
			t.Fatalf("node 1 counts %d in r between node 2's snapshots, want 3", k)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Node 3 vanishes without a goodbye: it ages out.
	n3.nc.Close()
	want("node 3 gone", n1, "[{r 3}]")
	// Node 2 leaves: node 1 forgets its member long before it would
	// expire.
	start := time.Now()
	_ = n2.n.Close()
	want("node 2 left", n1, "[{r 2}]")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("node 1 counted a node that left for %v more: its goodbye did not count", d)
	}
}

// TestLongRoomName: a room name far longer than NATS takes in a subject
// works across nodes (its subject is a hash, its messages carry the name),
// and the connection stays up; a message over NATS's max_payload is
// refused before it is delivered anywhere.
func TestLongRoomName(t *testing.T) {
	url := clustertest.StartNATS(t)
	n1, n2 := startNode(t, url, 1), startNode(t, url, 2)
	long := strings.Repeat("room.", 700) // 3,500 bytes, 4,667 in base64: past NATS's 4 KiB protocol line
	a, b := dial(t, n1, long), dial(t, n2, long)
	waitRooms(t, n2, long)
	a.SendText("pub " + long + " hi")
	a.expect(t, "hi")
	b.expect(t, "hi")
	if !n1.n.Stats().Connected || !n2.n.Stats().Connected {
		t.Fatal("a long room name cost a NATS connection")
	}
	if err := n1.n.Publish(long, engine.OpBinary, make([]byte, 2<<20)); err != cluster.ErrTooLarge {
		t.Fatalf("a 2 MiB message: %v, want ErrTooLarge", err)
	}
	if err := n1.n.Publish(strings.Repeat("x", 70000), engine.OpText, nil); err != cluster.ErrRoomName {
		t.Fatalf("a 70,000-byte room name: %v, want ErrRoomName", err)
	}
	a.SendText("pub " + long + " after")
	a.expect(t, "after") // nothing of the refused ones arrived first
	b.expect(t, "after")
}

// TestPrefix: a prefix that is not subject tokens is refused.
func TestPrefix(t *testing.T) {
	url := clustertest.StartNATS(t)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for _, p := range []string{"a b", "a..b", ".a", "a.", "a*", ">"} {
		if _, err := cluster.Join(engine.New(), nc, cluster.Options{Prefix: p}); err != cluster.ErrPrefix {
			t.Errorf("prefix %q: %v, want ErrPrefix", p, err)
		}
	}
	nd, err := cluster.Join(engine.New(), nc, cluster.Options{Prefix: "app.ws-1"})
	if err != nil {
		t.Fatalf("prefix app.ws-1: %v", err)
	}
	_ = nd.Close()
}

// TestNATSDownDrops: while NATS is unreachable, what does not fit
// nats.go's reconnect buffer is dropped and counted, and local delivery
// goes on, every message of it.
func TestNATSDownDrops(t *testing.T) {
	ns := clustertest.RunNATS(t, -1)
	nc, err := nats.Connect(ns.ClientURL(), nats.ReconnectBufSize(4096), nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Hour)) // no reconnect during the test
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	srv := engine.New(engine.WithNodeID(9))
	srv.Handle("/ws", engine.Handler{OnConnect: func(c *engine.Conn) { _ = c.Join("r") }})
	nd, err := cluster.Join(srv, nc, cluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nd.Close() })
	wstest.Start(t, srv)
	c := wstest.Dial(t, srv.Addr().String(), "/ws")
	wstest.Eventually(t, "member counted", func() bool { return srv.Members("r") == 1 })

	ns.Shutdown()
	ns.WaitForShutdown()
	wstest.Eventually(t, "node sees NATS gone", func() bool { return !nd.Stats().Connected })
	msg := strings.Repeat("x", 1000)
	const n = 50 // 50 KB: far more than the 4 KB buffer
	for i := range n {
		if err := nd.Publish("r", engine.OpText, []byte(fmt.Sprint(i, msg))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		_, p, err := c.ReadMessage()
		if err != nil || string(p) != fmt.Sprint(i, msg) {
			t.Fatalf("local message %d: %.10q, %v", i, p, err)
		}
	}
	st := nd.Stats()
	if st.Dropped == 0 || st.Dropped+st.Published != n {
		t.Fatalf("%+v: want drops counted, and published + dropped = %d", st, n)
	}
	t.Logf("while NATS was down: %d buffered by nats.go, %d dropped", st.Published, st.Dropped)
}

// TestNodesAndConflicts: Stats.Nodes counts the other nodes heard from,
// rooms or not, and forgets one that leaves; two nodes given one node ID
// see each other (Stats.Conflicts) while a node that hears its own echo
// (no NoEcho) does not.
func TestNodesAndConflicts(t *testing.T) {
	url := clustertest.StartNATS(t)
	n1 := startNode(t, url, 1)
	n2 := startNode(t, url, 2) // no NoEcho: hears its own presence
	n3 := startNode(t, url, 3)
	for _, nd := range []*node{n1, n2, n3} {
		wstest.Eventually(t, fmt.Sprintf("node %d hears the two others", nd.id), func() bool {
			return nd.n.Stats().Nodes == 2
		})
	}
	_ = n3.n.Close()
	wstest.Eventually(t, "node 1 forgets node 3, which left", func() bool { return n1.n.Stats().Nodes == 1 })
	if k := n2.n.Stats().Conflicts; k != 0 {
		t.Fatalf("node 2 hearing its own presence counted %d conflicts", k)
	}
	twin := startNode(t, url, 2)
	for _, nd := range []*node{n2, twin} {
		wstest.Eventually(t, "the two nodes with ID 2 see the conflict", func() bool { return nd.n.Stats().Conflicts > 0 })
	}
	if k := n1.n.Stats().Conflicts; k != 0 {
		t.Errorf("node 1 counted %d conflicts", k)
	}
}

// TestOnRoomMessage: Options.OnRoomMessage sees the room messages that
// come from other nodes, after their delivery, and not the node's own.
func TestOnRoomMessage(t *testing.T) {
	url := clustertest.StartNATS(t)
	seen := make(chan string, 10)
	n1 := startNodeWith(t, url, 1, cluster.Options{OnRoomMessage: func(room string, op engine.OpCode, p []byte) {
		seen <- fmt.Sprintf("%s %v %s", room, op, p)
	}})
	n2 := startNode(t, url, 2)
	a := dial(t, n1, "r")
	waitRooms(t, n1, "r")
	a.SendText("pub r local")
	a.expect(t, "local")
	b := dial(t, n2, "x")
	b.SendText("pub r remote")
	a.expect(t, "remote")
	select {
	case got := <-seen:
		if want := fmt.Sprintf("r %v remote", engine.OpText); got != want {
			t.Fatalf("OnRoomMessage saw %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnRoomMessage did not run")
	}
	if len(seen) != 0 {
		t.Errorf("OnRoomMessage also saw %q", <-seen)
	}
}

// TestOnSubscribed: Options.OnSubscribed comes once NATS has the node's
// subscription, so a message another node publishes right after it
// reaches the room's member, with no other wait.
func TestOnSubscribed(t *testing.T) {
	url := clustertest.StartNATS(t)
	subscribed := make(chan string, 10)
	n1 := startNodeWith(t, url, 1, cluster.Options{OnSubscribed: func(room string) { subscribed <- room }})
	n2 := startNode(t, url, 2)
	b := dial(t, n2, "x")
	for i := range 5 { // a room of its own each time: a fresh subscription
		room := fmt.Sprintf("r%d", i)
		a := dial(t, n1, room)
		select {
		case got := <-subscribed:
			if got != room {
				t.Fatalf("OnSubscribed(%q), want %q", got, room)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("OnSubscribed did not come")
		}
		b.SendText("pub " + room + " right after")
		a.expect(t, "right after")
		_ = a.Close()
	}
	if len(subscribed) != 0 {
		t.Errorf("OnSubscribed also for %q", <-subscribed)
	}
}

// TestOnSubscribedAfterReconnect: after NATS restarts, OnSubscribed comes
// again for the rooms the node has, once NATS has them again.
func TestOnSubscribedAfterReconnect(t *testing.T) {
	ns := clustertest.RunNATS(t, -1)
	port := ns.Addr().(*net.TCPAddr).Port
	subscribed := make(chan string, 10)
	n1 := startNodeWith(t, ns.ClientURL(), 1, cluster.Options{PresenceInterval: 100 * time.Millisecond,
		OnSubscribed: func(room string) { subscribed <- room }})
	dial(t, n1, "r")
	next := func(what string) string {
		t.Helper()
		select {
		case r := <-subscribed:
			return r
		case <-time.After(wstest.Timeout):
			t.Fatalf("no OnSubscribed %s", what)
		}
		return ""
	}
	if r := next("at first"); r != "r" {
		t.Fatalf("OnSubscribed(%q), want r", r)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	wstest.Eventually(t, "node 1 sees NATS gone", func() bool { return !n1.n.Stats().Connected })
	clustertest.RunNATS(t, port)
	if r := next("after the restart"); r != "r" {
		t.Fatalf("OnSubscribed(%q) after the restart, want r", r)
	}
	if !n1.n.Stats().Connected {
		t.Error("OnSubscribed before the node reconnected")
	}
}
