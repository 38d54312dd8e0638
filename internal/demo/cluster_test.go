package demo_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/demo"
	"github.com/wshub/wshub/internal/demo/demotest"
	"github.com/wshub/wshub/internal/wstest"
)

func TestMain(m *testing.M) { wstest.VerifyNoLeaks(m) }

// fakeCluster stands in for package cluster with the one property the
// chat's presence has to survive: a node hears another node's room
// messages only once its subscription to the room is confirmed, and the
// test says when that is.
type fakeCluster struct {
	mu        sync.Mutex
	nodes     []*fakeNode
	confirmed map[string]bool // node index + room
}

type fakeNode struct {
	c     *fakeCluster
	i     int
	srv   *engine.Server
	hooks demo.Hooks
}

func (n *fakeNode) Publish(room string, op engine.OpCode, p []byte) error {
	if err := n.srv.Publish(room, op, p); err != nil {
		return err
	}
	n.c.mu.Lock()
	var to []*fakeNode
	for _, o := range n.c.nodes {
		if o != n && n.c.confirmed[fmt.Sprint(o.i, room)] {
			to = append(to, o)
		}
	}
	n.c.mu.Unlock()
	for _, o := range to {
		if o.srv.Publish(room, op, p) == nil {
			o.hooks.RoomMessage(room, op, p)
		}
	}
	return nil
}

func (n *fakeNode) SendTo(id uint64, op engine.OpCode, p []byte) error {
	return n.c.nodes[id>>48-1].srv.SendTo(id, op, p)
}

// confirm is NATS confirming node i's subscription to room.
func (c *fakeCluster) confirm(i int, room string) {
	c.mu.Lock()
	c.confirmed[fmt.Sprint(i, room)] = true
	c.mu.Unlock()
	c.nodes[i].hooks.Subscribed(room)
}

func startFakeCluster(t *testing.T, n int) *fakeCluster {
	c := &fakeCluster{confirmed: make(map[string]bool)}
	for i := range n {
		nd := &fakeNode{c: c, i: i}
		_, err := demo.NewServer(demo.Config{Join: func(srv *engine.Server, h demo.Hooks) (demo.Fanout, error) {
			nd.srv, nd.hooks = srv, h
			return nd, nil
		}}, engine.WithNodeID(uint16(i+1)), engine.WithLoops(1))
		if err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, nd)
	}
	for _, nd := range c.nodes { // c.nodes is read-only from here on
		wstest.Start(t, nd.srv)
	}
	return c
}

// member is a named chat client and its page's view of the room.
type member struct {
	*demotest.View
	name string
	c    *wstest.Conn
}

func join(t *testing.T, nd *fakeNode, room, name string) *member {
	t.Helper()
	c := wstest.Dial(t, nd.srv.Addr().String(), "/ws?room="+room+"&name="+name)
	return &member{View: demotest.Watch(c), name: name, c: c}
}

func (m *member) waitFor(t *testing.T, want ...string) { t.Helper(); m.WaitFor(t, m.name, want...) }

// waitChat waits until m got a message containing text, and reports
// whether it got one containing bad before it.
func (m *member) waitChat(t *testing.T, text, bad string) bool {
	t.Helper()
	return m.WaitRaw(t, m.name, text, bad)
}

// TestPresenceAcrossNodes: the first members of a room on two nodes join
// while neither node's subscription is confirmed, so both joins are lost;
// the syncs that follow the confirmations still make each see the other,
// whichever node is confirmed first. A third member joining later, on a
// confirmed node, is seen by join and answered with "here".
func TestPresenceAcrossNodes(t *testing.T) {
	for _, first := range []int{0, 1} {
		t.Run(fmt.Sprintf("node %d confirmed first", first+1), func(t *testing.T) {
			c := startFakeCluster(t, 2)
			ann := join(t, c.nodes[0], "r", "ann")
			bob := join(t, c.nodes[1], "r", "bob")
			ann.waitFor(t, "ann")
			bob.waitFor(t, "bob")
			c.confirm(first, "presence\x00r")
			c.confirm(1-first, "presence\x00r")
			ann.waitFor(t, "ann", "bob")
			bob.waitFor(t, "ann", "bob")
			cat := join(t, c.nodes[1], "r", "cat")
			for _, m := range []*member{ann, bob, cat} {
				m.waitFor(t, "ann", "bob", "cat")
			}
			// Node 1 hears that node 2 vanished: ann's page drops bob and
			// cat; node 2 heard again syncs them back.
			c.nodes[0].hooks.Node(2, false)
			ann.waitFor(t, "ann")
			c.nodes[0].hooks.Node(2, true) // node 1 syncs; node 2 answers
			c.nodes[1].hooks.Node(1, true) // node 2 syncs
			ann.waitFor(t, "ann", "bob", "cat")
		})
	}
}

// TestPresenceSpoof: a client's chat text that would pass for a presence
// event is not relayed; other text is.
func TestPresenceSpoof(t *testing.T) {
	c := startFakeCluster(t, 2)
	ann := join(t, c.nodes[0], "r", "ann")
	bob := join(t, c.nodes[1], "r", "bob")
	c.confirm(0, "presence\x00r")
	c.confirm(1, "presence\x00r")
	c.confirm(0, "r")
	c.confirm(1, "r")
	ann.waitFor(t, "ann", "bob")
	for _, spoof := range []string{
		`{"type":"presence","event":"leave","room":"r","name":"ann","id":"1","text":"spoof"}`,
		` {"type":"pres\u0065nce","event":"gone","node":"1","text":"spoof"}`,      // an escape
		`{"type":1,"type":"presence","event":"gone","node":"1","text":"spoof"}`,   // the last key wins
		`{"type":"presence","Type":"x","event":"gone","node":"1","text":"spoof"}`, // keys are exact
		`{"typ\u0065":"presence","event":"gone","node":"1","text":"spoof"}`,
	} {
		bob.c.SendText(spoof)
	}
	bob.c.SendText(`[{"type":"presence","text":"not an object: relayed"}]`)
	bob.c.SendText(`{"type":"chat","name":"bob","text":"real presence talk"}`)
	if ann.waitChat(t, "real presence talk", "spoof") || bob.waitChat(t, "real presence talk", "spoof") {
		t.Fatal("a presence-looking chat message was relayed")
	}
	if !ann.waitChat(t, "real presence talk", "not an object: relayed") {
		t.Error("a JSON array was not relayed")
	}
	ann.waitFor(t, "ann", "bob")
}
