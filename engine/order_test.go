package engine_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
)

// TestConcurrentSendersOrder sends to one connection from 8 goroutines at
// once: each goroutine's messages arrive in its order, and none is lost.
func TestConcurrentSendersOrder(t *testing.T) {
	t.Parallel()
	const senders, each = 8, 300
	tests := []struct {
		name string
		send func(s *server, c *engine.Conn, msg []byte) error
	}{
		{name: "Conn.SendText", send: func(_ *server, c *engine.Conn, msg []byte) error {
			return c.SendText(string(msg))
		}},
		{name: "Server.SendTo", send: func(s *server, c *engine.Conn, msg []byte) error {
			return s.SendTo(c.ID(), ws.OpText, msg)
		}},
		{name: "Conn.Send", send: func(_ *server, c *engine.Conn, msg []byte) error {
			return c.Send(ws.OpBinary, msg)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, engine.Handler{})
			c := dial(t, s)
			m := s.conn(t, c.id)
			var wg sync.WaitGroup
			for g := range senders {
				wg.Go(func() {
					for i := range each {
						if err := tt.send(s, m, fmt.Appendf(nil, "%d/%d", g, i)); err != nil {
							t.Errorf("sender %d: %v", g, err)
							return
						}
					}
				})
			}
			next := make([]int, senders)
			for range senders * each {
				var g, i int
				msg := c.read(t)
				if _, err := fmt.Sscanf(msg, "%d/%d", &g, &i); err != nil || g < 0 || g >= senders {
					t.Fatalf("bad message %q", msg)
				}
				if i != next[g] {
					t.Fatalf("sender %d: got message %d, want %d", g, i, next[g])
				}
				next[g]++
			}
			wg.Wait()
			for g, n := range next {
				if n != each {
					t.Errorf("sender %d: %d messages arrived, want %d", g, n, each)
				}
			}
		})
	}
}

// callKind is one of the hub's sending calls, for TestInterleavedOrder.
type callKind int

const (
	callSend callKind = iota
	callSendTo
	callBroadcast
	callBroadcastExcept // all but B
	callPublish         // room "r": A and C
	callPublishExcept   // room "r" but C
)

// TestInterleavedOrder makes every kind of sending call from one goroutine,
// interleaved: each client receives what is addressed to it in call order.
func TestInterleavedOrder(t *testing.T) {
	t.Parallel()
	const calls = 600
	kinds := []callKind{callSend, callBroadcast, callPublish, callSendTo, callBroadcastExcept, callPublishExcept}
	s := startServer(t, engine.Handler{})
	a, b, c := dial(t, s), dial(t, s), dial(t, s)
	ma, mb, mc := s.conn(t, a.id), s.conn(t, b.id), s.conn(t, c.id)
	mustJoin(t, ma, "r")
	mustJoin(t, mc, "r")

	// receives reports which of A, B, C a call of kind k reaches.
	receives := map[callKind][3]bool{
		callSend:            {true, false, false},
		callSendTo:          {true, false, false},
		callBroadcast:       {true, true, true},
		callBroadcastExcept: {true, false, true},
		callPublish:         {true, false, true},
		callPublishExcept:   {true, false, false},
	}
	var want [3][]string
	for i := range calls {
		k := kinds[i%len(kinds)]
		msg := []byte(strconv.Itoa(i))
		var err error
		switch k {
		case callSend:
			err = ma.Send(ws.OpText, msg)
		case callSendTo:
			err = s.SendTo(a.id, ws.OpText, msg)
		case callBroadcast:
			err = s.Broadcast(ws.OpText, msg)
		case callBroadcastExcept:
			err = s.BroadcastExcept(ws.OpText, msg, mb)
		case callPublish:
			err = s.Publish("r", ws.OpText, msg)
		case callPublishExcept:
			err = s.PublishExcept("r", ws.OpText, msg, mc)
		}
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		for j, ok := range receives[k] {
			if ok {
				want[j] = append(want[j], string(msg))
			}
		}
	}
	if err := s.Broadcast(ws.OpText, []byte(marker)); err != nil {
		t.Fatal(err)
	}
	for j, cl := range []*client{a, b, c} {
		if got := cl.readUntil(t, marker); !slices.Equal(got, want[j]) {
			t.Errorf("client %c: got %d messages %.60q..., want %d %.60q...", 'A'+j, len(got), got, len(want[j]), want[j])
		}
	}
}

// frameSizes cycles through payload sizes around the point where the hub
// stops copying frames to its arena: 16379 bytes encode to a 16383-byte
// frame (copied), 16380 to 16384 (written from its own buffer).
var frameSizes = []int{10, 16379, 16380, 100, 64 << 10, 1, 1 << 20, 200, 16381, 0}

// numbered returns a payload of n bytes that carries seq and can be checked
// by checkNumbered.
func numbered(seq, n int) []byte {
	p := bytes.Repeat([]byte{byte(seq)}, n)
	if n >= 4 {
		binary.BigEndian.PutUint32(p, uint32(seq))
	}
	return p
}

func checkNumbered(p []byte, seq, n int) error {
	if len(p) != n {
		return fmt.Errorf("message %d: %d bytes, want %d", seq, len(p), n)
	}
	if !bytes.Equal(p, numbered(seq, n)) {
		return fmt.Errorf("message %d (%d bytes): wrong content", seq, n)
	}
	return nil
}

// TestLargeFramesOrder interleaves large frames (written from their own
// buffer) with small ones (copied to the arena), to one connection and by
// broadcast. In "one drain" the loop is held while everything is queued, so
// that it all leaves in one flush: over 1024 pieces for writev(2) and more
// than the arena keeps.
func TestLargeFramesOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		sizes    []int
		count    int
		oneDrain bool
	}{
		{name: "mixed sizes", sizes: frameSizes, count: 200},
		{name: "mixed sizes one drain", sizes: frameSizes, count: 200, oneDrain: true},
		{name: "over 1024 pieces one drain", sizes: []int{8, 16380}, count: 1500, oneDrain: true},
		{name: "arena grows past its cap one drain", sizes: []int{16379, 3, 16379, 5000}, count: 600, oneDrain: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// These cases queue many MiB for one connection on purpose
			// (ordering, not slow-client policy, is under test here).
			s := startServer(t, engine.Handler{}, engine.WithLoops(1), engine.WithMaxBacklog(-1))
			a, b := dial(t, s), dial(t, s)
			ma := s.conn(t, a.id)
			release := func() {}
			if tt.oneDrain {
				release = s.holdLoop(t)
			}
			var wantB []int // sequence numbers B receives
			for i := range tt.count {
				p := numbered(i, tt.sizes[i%len(tt.sizes)])
				var err error
				if i%3 == 2 {
					err = s.Broadcast(ws.OpBinary, p)
					wantB = append(wantB, i)
				} else {
					err = ma.Send(ws.OpBinary, p)
				}
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			release()
			var wg sync.WaitGroup
			wg.Go(func() {
				for _, i := range wantB {
					if err := readNumbered(b, i, tt.sizes[i%len(tt.sizes)]); err != nil {
						t.Errorf("client B: %v", err)
						return
					}
				}
			})
			for i := range tt.count {
				if err := readNumbered(a, i, tt.sizes[i%len(tt.sizes)]); err != nil {
					t.Errorf("client A: %v", err)
					break
				}
			}
			wg.Wait()
		})
	}
}

// readNumbered reads one message and checks it is numbered(seq, n). It may
// run outside the test goroutine.
func readNumbered(c *client, seq, n int) error {
	_, p, err := c.ReadMessage()
	if err != nil {
		return err
	}
	return checkNumbered(p, seq, n)
}

// TestGameTick runs a ticker goroutine that broadcasts while clients make
// hub calls from inside OnMessage: joining rooms, publishing, sending to an
// ID, broadcasting to all but themselves. Every tick arrives in order and
// every callback's call takes effect.
func TestGameTick(t *testing.T) {
	t.Parallel()
	handler := engine.Handler{
		OnConnect: func(c *engine.Conn) {
			if err := c.Join("lobby"); err != nil {
				panic(err)
			}
		},
		OnMessage: func(c *engine.Conn, _ ws.OpCode, payload []byte) {
			cmd, arg, _ := strings.Cut(string(payload), " ")
			if err := runCommand(c.Server(), c, cmd, arg); err != nil {
				_ = c.SendText("error " + err.Error())
			}
		},
	}
	s := startServer(t, handler)
	cs := dialN(t, s, 3)
	waitMembers(t, s, "lobby", 3)

	const ticks = 200
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range ticks {
			if err := s.Broadcast(ws.OpText, fmt.Appendf(nil, "tick %d", i)); err != nil {
				t.Errorf("tick %d: %v", i, err)
				return
			}
		}
	})
	// Client 0 joins "x" and waits for the ack, which is queued after the
	// join; client 1 then publishes to "x", sends to client 2 by ID and
	// broadcasts to everyone but itself.
	logs := make([][]string, len(cs))
	logs[0] = cs[0].readUntilAfter(t, "join x", "ok join x")
	send(t, cs[1], "pub x hello")
	send(t, cs[1], fmt.Sprintf("to %d psst", cs[2].id))
	send(t, cs[1], "others hi")
	logs[1] = cs[1].readUntilAfter(t, "done", "ok done ")
	wg.Wait()
	if err := s.Broadcast(ws.OpText, []byte(marker)); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"hello", "hi"},
		nil,
		{"psst", "hi"},
	}
	for i, c := range cs {
		var got []string
		tick := 0
		for _, m := range append(logs[i], c.readUntil(t, marker)...) {
			if n, ok := strings.CutPrefix(m, "tick "); ok {
				if n != strconv.Itoa(tick) {
					t.Errorf("client %d: got tick %s, want %d", i, n, tick)
				}
				tick++
			} else if !strings.HasPrefix(m, "ok ") {
				got = append(got, m)
			}
		}
		if tick != ticks {
			t.Errorf("client %d: %d ticks, want %d", i, tick, ticks)
		}
		if !slices.Equal(got, want[i]) {
			t.Errorf("client %d: got %q, want %q", i, got, want[i])
		}
	}
	if n := s.Members("x"); n != 1 {
		t.Errorf("Members(x) = %d, want 1", n)
	}
}

// runCommand is TestGameTick's OnMessage: it runs on the event loop.
func runCommand(h *engine.Server, c *engine.Conn, cmd, arg string) error {
	var err error
	switch cmd {
	case "join":
		err = c.Join(arg)
	case "pub":
		room, text, _ := strings.Cut(arg, " ")
		err = h.Publish(room, ws.OpText, []byte(text))
	case "to":
		id, text, _ := strings.Cut(arg, " ")
		n, perr := strconv.ParseUint(id, 10, 64)
		if perr != nil {
			return perr
		}
		err = h.SendTo(n, ws.OpText, []byte(text))
	case "others":
		err = h.BroadcastExcept(ws.OpText, []byte(arg), c)
	case "done":
	default:
		return fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		return err
	}
	return c.Send(ws.OpText, []byte("ok "+cmd+" "+arg))
}

// readUntilAfter sends cmd and returns the messages received before reply.
func (c *client) readUntilAfter(t *testing.T, cmd, reply string) []string {
	t.Helper()
	c.SendText(cmd)
	return c.readUntil(t, reply)
}

// send writes a text message from the client.
func send(t *testing.T, c *client, msg string) {
	t.Helper()
	c.SendText(msg)
}
