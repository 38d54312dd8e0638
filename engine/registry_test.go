package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
)

func TestSendTo(t *testing.T) {
	t.Parallel()
	s := startServer(t, engine.Handler{})
	cs := dialN(t, s, 4)
	gone := dial(t, s)
	_ = gone.Close()
	waitLen(t, s, len(cs))

	for i, c := range cs {
		if err := s.SendTo(c.id, ws.OpText, fmt.Appendf(nil, "for %d", i)); err != nil {
			t.Fatalf("SendTo(%d): %v", c.id, err)
		}
	}
	for i, c := range cs {
		if err := s.SendTo(c.id, ws.OpText, []byte(marker)); err != nil {
			t.Fatalf("SendTo(%d): %v", c.id, err)
		}
		want := []string{fmt.Sprintf("for %d", i)}
		if got := c.readUntil(t, marker); !slices.Equal(got, want) {
			t.Errorf("client %d got %q, want %q", i, got, want)
		}
	}

	unknown := []struct {
		name string
		id   uint64
	}{
		{name: "zero", id: 0},
		{name: "never assigned", id: math.MaxUint64},
		{name: "disconnected", id: gone.id},
	}
	for _, tt := range unknown {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.SendTo(tt.id, ws.OpText, []byte("x")); !errors.Is(err, engine.ErrNotFound) {
				t.Errorf("SendTo(%d) = %v, want ErrNotFound", tt.id, err)
			}
		})
	}
}

// TestRegistry checks that Get, Range and Len agree with the clients
// connected, before and after some of them disconnect.
func TestRegistry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		clients int
		drop    []int // indexes of clients that disconnect
	}{
		{name: "none", clients: 0},
		{name: "one", clients: 1},
		{name: "all stay", clients: 6},
		{name: "some leave", clients: 6, drop: []int{0, 3, 5}},
		{name: "all leave", clients: 3, drop: []int{0, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, engine.Handler{})
			cs := dialN(t, s, tt.clients)
			checkRegistry(t, s, cs)
			var left []*client
			for i, c := range cs {
				if slices.Contains(tt.drop, i) {
					_ = c.Close()
				} else {
					left = append(left, c)
				}
			}
			waitLen(t, s, len(left))
			checkRegistry(t, s, left)
			for _, i := range tt.drop {
				if _, ok := s.Get(cs[i].id); ok {
					t.Errorf("Get(%d) found a disconnected client", cs[i].id)
				}
			}
		})
	}
}

// checkRegistry compares Len, Get and Range with cs.
func checkRegistry(t *testing.T, s *server, cs []*client) {
	t.Helper()
	if got := s.Len(); got != len(cs) {
		t.Errorf("Len() = %d, want %d", got, len(cs))
	}
	want := make(map[uint64]bool)
	for _, c := range cs {
		want[c.id] = true
		ec, ok := s.Get(c.id)
		if !ok {
			t.Errorf("Get(%d): not found", c.id)
			continue
		}
		if ec.ID() != c.id {
			t.Errorf("Get(%d) = connection %d", c.id, ec.ID())
		}
	}
	got := make(map[uint64]bool)
	s.Range(func(c *engine.Conn) bool {
		if got[c.ID()] {
			t.Errorf("Range visited %d twice", c.ID())
		}
		got[c.ID()] = true
		return true
	})
	if !maps.Equal(got, want) {
		t.Errorf("Range visited %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	if len(cs) > 1 {
		n := 0
		s.Range(func(*engine.Conn) bool { n++; return false })
		if n != 1 {
			t.Errorf("Range went on after fn returned false: %d calls", n)
		}
	}
}

// TestCloseAfterLargeFrame: Close queues its close frame after a frame
// larger than the socket buffers of a client that is not reading; the
// close frame comes right after it and nothing after it, and since the
// client never answers, TCP closes at the close timeout: not before (the
// client must be able to read it all) and not much after.
func TestCloseAfterLargeFrame(t *testing.T) {
	t.Parallel()
	const closeTimeout = time.Second // ample for the client to read 8 MiB, even under -race on a busy machine
	tests := []struct {
		name    string
		payload []byte
	}{
		{name: "small", payload: []byte("last words")},
		{name: "8 MiB", payload: bytes.Repeat([]byte("L"), 8<<20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// No backlog cap: the large frame must not close the client.
			s := startServer(t, engine.Handler{}, engine.WithCloseTimeout(closeTimeout), engine.WithMaxBacklog(-1))
			c := dial(t, s)
			m := s.conn(t, c.id)
			mustSend(t, m, "before")
			if err := m.SendBinary(tt.payload); err != nil {
				t.Fatalf("SendBinary: %v", err)
			}
			start := time.Now()
			if err := m.Close(4000, "bye"); err != nil {
				t.Fatalf("Close: %v", err)
			}
			for i := range 3 {
				if err := m.SendText("dropped"); !errors.Is(err, engine.ErrClosing) {
					t.Fatalf("Send %d after Close = %v, want ErrClosing", i, err)
				}
			}
			if err := s.Broadcast(ws.OpText, []byte("dropped")); err != nil {
				t.Fatalf("Broadcast: %v", err)
			}
			if got := c.read(t); got != "before" {
				t.Fatalf("first message %q, want before", got)
			}
			if got := c.read(t); got != string(tt.payload) {
				t.Fatalf("last message has %d bytes, want %d", len(got), len(tt.payload))
			}
			c.ExpectClose(4000)
			c.ExpectEOF()
			took := time.Since(start)
			if took < closeTimeout*9/10 || took > closeTimeout+2*time.Second {
				t.Errorf("TCP closed %v after Close, want at the close timeout (%v)", took, closeTimeout)
			}
		})
	}
}

// TestGoneErrClosed checks every per-connection call on a connection that
// has disconnected.
func TestGoneErrClosed(t *testing.T) {
	t.Parallel()
	s := startServer(t, engine.Handler{})
	c := dial(t, s)
	m := s.conn(t, c.id)
	mustJoin(t, m, "a")
	waitMembers(t, s, "a", 1)
	_ = c.Close()
	waitFor(t, "Get to forget the connection", func() bool { _, ok := s.Get(c.id); return !ok })

	tests := []struct {
		name string
		call func() error
	}{
		{name: "Send", call: func() error { return m.Send(ws.OpText, []byte("x")) }},
		{name: "SendText", call: func() error { return m.SendText("x") }},
		{name: "SendBinary", call: func() error { return m.SendBinary([]byte("x")) }},
		{name: "Close", call: func() error { return m.Close(1000, "") }},
		{name: "Join", call: func() error { return m.Join("b") }},
		{name: "Leave", call: func() error { return m.Leave("a") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, engine.ErrClosed) {
				t.Errorf("%s on a gone connection = %v, want ErrClosed", tt.name, err)
			}
		})
	}
	waitMembers(t, s, "a", 0)
	waitMembers(t, s, "b", 0)
	if m.Backlog() != 0 {
		t.Errorf("Backlog of a gone connection = %d", m.Backlog())
	}
}
