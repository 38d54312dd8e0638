package cluster

import (
	"encoding/binary"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// snapshotMsg builds a one-chunk presence message from node with
// instance, flags (lastChunk, leavingNode) and rooms.
func snapshotMsg(node uint16, instance uint64, seq uint32, flags byte, rooms map[string]uint32) *nats.Msg {
	b := make([]byte, presenceHeader)
	b[0] = presenceVersion
	binary.BigEndian.PutUint16(b[1:], node)
	binary.BigEndian.PutUint32(b[3:], seq)
	b[9] = flags
	binary.BigEndian.PutUint32(b[10:], 1000)
	binary.BigEndian.PutUint64(b[14:], instance)
	for r, k := range rooms {
		b = binary.BigEndian.AppendUint16(b, uint16(len(r)))
		b = append(b, r...)
		b = binary.BigEndian.AppendUint32(b, k)
	}
	return &nats.Msg{Data: b}
}

// TestHear: what a node makes of presence messages, one table row after
// another on one node (7, instance 77).
func TestHear(t *testing.T) {
	type event struct {
		node uint16
		up   bool
	}
	var events []event
	n := &Node{id: 7, instance: 77, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		remote: map[uint16]snapshot{}, arriving: map[uint16]*pending{},
		onNode: func(node uint16, up bool) { events = append(events, event{node, up}) }}
	steps := []struct {
		name      string
		msg       *nats.Msg
		nodes     int   // len(n.remote) after
		conflicts int64 // n.conflicts after
		event     *event
	}{
		{"a snapshot with a room", snapshotMsg(1, 11, 1, lastChunk, map[string]uint32{"r": 3}), 1, 0, &event{1, true}},
		{"the same node again: no event", snapshotMsg(1, 11, 2, lastChunk, map[string]uint32{"r": 4}), 1, 0, nil},
		{"an empty snapshot counts the node", snapshotMsg(2, 22, 1, lastChunk, nil), 2, 0, &event{2, true}},
		{"our own echo is not a conflict", snapshotMsg(7, 77, 1, lastChunk, nil), 2, 0, nil},
		{"our ID with another instance is", snapshotMsg(7, 78, 1, lastChunk, nil), 2, 1, nil},
		{"a goodbye forgets the node", snapshotMsg(2, 22, 2, lastChunk|leavingNode, nil), 1, 1, &event{2, false}},
		{"a goodbye from an unknown node: no event", snapshotMsg(3, 33, 1, lastChunk|leavingNode, nil), 1, 1, nil},
		{"another version is ignored", func() *nats.Msg {
			m := snapshotMsg(4, 44, 1, lastChunk, nil)
			m.Data[0] = 1
			return m
		}(), 1, 1, nil},
		{"a first chunk alone does not count yet", snapshotMsg(5, 55, 1, 0, map[string]uint32{"r": 1}), 1, 1, nil},
		{"node 6 arrives", snapshotMsg(6, 66, 1, lastChunk, nil), 2, 1, &event{6, true}},
		{"node 6 restarted: down, then up", snapshotMsg(6, 67, 1, lastChunk, nil), 2, 1, &event{6, false}},
		{"the one before again: two nodes share ID 6, no events", snapshotMsg(6, 66, 2, lastChunk, nil), 2, 1, nil},
		{"node 6 leaves", snapshotMsg(6, 66, 3, lastChunk|leavingNode, nil), 1, 1, &event{6, false}},
	}
	for _, s := range steps {
		before := len(events)
		n.hear(s.msg)
		if got := len(n.remote); got != s.nodes {
			t.Errorf("%s: %d nodes known, want %d", s.name, got, s.nodes)
		}
		if got := n.conflicts.Load(); got != s.conflicts {
			t.Errorf("%s: %d conflicts, want %d", s.name, got, s.conflicts)
		}
		want := 0
		if s.event != nil {
			want = 1
			if s.event.node == 6 && !s.event.up && len(n.remote) == 2 { // a restart: up follows
				want = 2
			}
		}
		switch {
		case len(events) != before+want:
			t.Errorf("%s: OnNode%v, want %d events", s.name, events[before:], want)
		case want > 0 && events[before] != *s.event:
			t.Errorf("%s: OnNode%v, want %v first", s.name, events[before:], *s.event)
		case want == 2 && events[before+1] != (event{6, true}):
			t.Errorf("%s: OnNode%v, want up after down", s.name, events[before:])
		}
	}
	if k := n.remote[1].rooms["r"]; k != 4 {
		t.Errorf("node 1's room r counts %d, want 4 (its latest snapshot)", k)
	}
	// Node 1 is last heard now; past three of its 1 s intervals it is
	// forgotten, with an event.
	events = nil
	at := n.remote[1].at
	n.expire(at.Add(2 * time.Second))
	if len(n.remote) != 1 || len(events) != 0 {
		t.Fatalf("expired early: %d nodes, events %v", len(n.remote), events)
	}
	n.expire(at.Add(4 * time.Second))
	if len(n.remote) != 0 || len(events) != 1 || events[0] != (event{1, false}) {
		t.Fatalf("after expiry: %d nodes, events %v", len(n.remote), events)
	}
}
