package hub_test

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

	"github.com/wshub/wshub/codec"
	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/hub"
)

func TestSendTo(t *testing.T) {
	t.Parallel()
	s := startServer(t, engine.Handler{})
	h := s.hub
	cs := dialN(t, s, 4)
	gone := dial(t, s)
	gone.close()
	waitLen(t, h, len(cs))

	for i, c := range cs {
		if err := h.SendTo(c.id, ws.OpText, fmt.Appendf(nil, "for %d", i)); err != nil {
			t.Fatalf("SendTo(%d): %v", c.id, err)
		}
	}
	for i, c := range cs {
		if err := h.SendTo(c.id, ws.OpText, []byte(marker)); err != nil {
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
			if err := h.SendTo(tt.id, ws.OpText, []byte("x")); !errors.Is(err, hub.ErrNotFound) {
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
			h := s.hub
			cs := dialN(t, s, tt.clients)
			checkRegistry(t, h, cs)
			var left []*client
			for i, c := range cs {
				if slices.Contains(tt.drop, i) {
					c.close()
				} else {
					left = append(left, c)
				}
			}
			waitLen(t, h, len(left))
			checkRegistry(t, h, left)
			for _, i := range tt.drop {
				if _, ok := h.Get(cs[i].id); ok {
					t.Errorf("Get(%d) found a disconnected client", cs[i].id)
				}
			}
		})
	}
}

// checkRegistry compares Len, Get and Range with cs.
func checkRegistry(t *testing.T, h *hub.Hub, cs []*client) {
	t.Helper()
	if got := h.Len(); got != len(cs) {
		t.Errorf("Len() = %d, want %d", got, len(cs))
	}
	want := make(map[uint64]bool)
	for _, c := range cs {
		want[c.id] = true
		m, ok := h.Get(c.id)
		if !ok {
			t.Errorf("Get(%d): not found", c.id)
			continue
		}
		if ec, ok := m.(*engine.Conn); !ok || ec.ID() != c.id {
			t.Errorf("Get(%d) = %T with ID %d", c.id, m, ec.ID())
		}
	}
	got := make(map[uint64]bool)
	h.Range(func(m hub.Member) bool {
		id := m.(*engine.Conn).ID()
		if got[id] {
			t.Errorf("Range visited %d twice", id)
		}
		got[id] = true
		return true
	})
	if !maps.Equal(got, want) {
		t.Errorf("Range visited %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	if len(cs) > 1 {
		n := 0
		h.Range(func(hub.Member) bool { n++; return false })
		if n != 1 {
			t.Errorf("Range went on after fn returned false: %d calls", n)
		}
	}
}

// TestSendLast checks that frames queued after SendLast are dropped and that
// its fn runs once the frame has been handed to the socket.
func TestSendLast(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		payload []byte
	}{
		{name: "small", payload: []byte("last")},
		// Larger than the socket buffers of a client that does not read:
		// when fn runs, the hub has written the frame and gnet holds the
		// rest, so the backlog is not zero.
		{name: "large", payload: bytes.Repeat([]byte("L"), 8<<20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// An 8 MiB frame to a client that does not read: no backlog cap.
			s := startServer(t, engine.Handler{}, engine.WithCloseTimeout(200*time.Millisecond), engine.WithMaxBacklog(-1))
			h := s.hub
			c := dial(t, s)
			m := s.conn(t, c.id)
			type report struct{ backlog int }
			ran := make(chan report, 1)
			mustSend(t, h, m, "before")
			err := h.SendLast(m, codec.NewFrame(ws.OpBinary, tt.payload), func() {
				ran <- report{backlog: m.Backlog()}
			})
			if err != nil {
				t.Fatalf("SendLast: %v", err)
			}
			for i := range 3 {
				if err := h.Send(m, ws.OpText, []byte("dropped")); err != nil {
					t.Fatalf("Send %d after SendLast: %v", i, err)
				}
			}
			if err := h.Broadcast(ws.OpText, []byte("dropped")); err != nil {
				t.Fatalf("Broadcast: %v", err)
			}
			var r report
			select {
			case r = <-ran:
			case <-time.After(wait):
				t.Fatal("SendLast's fn did not run")
			}
			if len(tt.payload) > 1<<20 && r.backlog == 0 {
				t.Errorf("fn ran with Backlog() = 0: the large frame was not written before it")
			}
			if got := c.read(t); got != "before" {
				t.Fatalf("first message %q, want before", got)
			}
			if got := c.read(t); got != string(tt.payload) {
				t.Fatalf("last message has %d bytes, want %d", len(got), len(tt.payload))
			}
			// Close's own close frame is dropped too: the server ends TCP at
			// the close timeout and the client sees EOF, not a message.
			if err := m.Close(ws.StatusNormalClosure, ""); err != nil {
				t.Fatalf("Close: %v", err)
			}
			_ = c.ws.SetReadDeadline(time.Now().Add(wait))
			if _, p, err := c.ws.ReadMessage(); err == nil {
				t.Errorf("got %q after the last frame", p)
			}
		})
	}
}

// TestDetachedErrClosed checks every per-connection call on a connection
// that has disconnected.
func TestDetachedErrClosed(t *testing.T) {
	t.Parallel()
	s := startServer(t, engine.Handler{})
	h := s.hub
	c := dial(t, s)
	m := s.conn(t, c.id)
	mustJoin(t, h, m, "a")
	waitMembers(t, h, "a", 1)
	c.close()
	eventually(t, "Get to forget the connection", func() bool { _, ok := h.Get(c.id); return !ok })

	tests := []struct {
		name string
		call func() error
	}{
		{name: "Send", call: func() error { return h.Send(m, ws.OpText, []byte("x")) }},
		{name: "SendFrame", call: func() error { return h.SendFrame(m, codec.NewFrame(ws.OpText, []byte("x"))) }},
		{name: "SendLast", call: func() error { return h.SendLast(m, codec.NewFrame(ws.OpText, []byte("x")), nil) }},
		{name: "Join", call: func() error { return h.Join(m, "b") }},
		{name: "Leave", call: func() error { return h.Leave(m, "a") }},
		{name: "engine Conn.Send", call: func() error { return m.Send(ws.OpText, []byte("x")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, hub.ErrClosed) {
				t.Errorf("%s on a detached connection = %v, want hub.ErrClosed", tt.name, err)
			}
		})
	}
	waitMembers(t, h, "a", 0)
	waitMembers(t, h, "b", 0)
}
