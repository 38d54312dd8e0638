package hub_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/internal/hub"
)

// TestSendPathsOrderAndCoalescing: whatever mix of sends reaches a
// connection, it gets them in call order, in one write per drain; sends
// made off the loop cost one wake-up per drain, sends made in a step none.
func TestSendPathsOrderAndCoalescing(t *testing.T) {
	type call struct {
		name string
		do   func(r *rig, cs []*fakeConn, msg string) error
		to   []int // connections it reaches
	}
	calls := []call{
		{"Send to 0", func(r *rig, cs []*fakeConn, m string) error { return r.h.Send(&cs[0].hc, ws.OpText, []byte(m)) }, []int{0}},
		{"SendTo 1", func(r *rig, cs []*fakeConn, m string) error {
			return r.h.SendTo(cs[1].hc.ID(), ws.OpText, []byte(m))
		}, []int{1}},
		{"Broadcast", func(r *rig, _ []*fakeConn, m string) error { return r.h.Broadcast(ws.OpText, []byte(m), nil) }, []int{0, 1, 2}},
		{"Broadcast but 2", func(r *rig, cs []*fakeConn, m string) error {
			return r.h.Broadcast(ws.OpText, []byte(m), &cs[2].hc)
		}, []int{0, 1}},
		{"Publish to room a (0, 2)", func(r *rig, _ []*fakeConn, m string) error { return r.h.Publish("a", ws.OpText, []byte(m), nil) }, []int{0, 2}},
		{"Publish to a but 0", func(r *rig, cs []*fakeConn, m string) error {
			return r.h.Publish("a", ws.OpText, []byte(m), &cs[0].hc)
		}, []int{2}},
	}
	tests := []struct {
		name        string
		onLoop      bool // the calls are made in a step (a callback)
		wantWakeups int
	}{
		{name: "from another goroutine", onLoop: false, wantWakeups: 1},
		{name: "in a callback on the loop", onLoop: true, wantWakeups: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, hub.Config{})
			cs := r.openN(3)
			r.step(func() {
				must(t, r.h.Join(&cs[0].hc, "a"))
				must(t, r.h.Join(&cs[2].hc, "a"))
			})
			before := r.loop.wakeups()
			want := make([][]frame, len(cs))
			sends := func() {
				for i := range 60 {
					c := calls[i%len(calls)]
					msg := fmt.Sprint(i)
					must(t, c.do(r, cs, msg))
					for _, k := range c.to {
						want[k] = append(want[k], txt(msg))
					}
				}
			}
			if tt.onLoop {
				r.step(sends)
			} else {
				sends()
			}
			if got := r.loop.wakeups() - before; got != tt.wantWakeups {
				t.Errorf("%d wake-ups of the loop for 60 sends, want %d", got, tt.wantWakeups)
			}
			r.loop.run()
			for k, c := range cs {
				if got := c.sock.frames(t); !slices.Equal(got, want[k]) {
					t.Errorf("connection %d got %v, want %v", k, got, want[k])
				}
				if c.sock.writes != 1 {
					t.Errorf("connection %d: %d writes, want 1", k, c.sock.writes)
				}
			}
		})
	}
}

// TestAdmit: one rule for every send path.
func TestAdmit(t *testing.T) {
	r := newRig(t, hub.Config{})
	c := r.open(false)
	tests := []struct {
		op   ws.OpCode
		n    int
		want error
	}{
		{ws.OpText, 1 << 20, nil},
		{ws.OpBinary, 0, nil},
		{ws.OpPing, 125, nil},
		{ws.OpPong, 125, nil},
		{ws.OpPing, 126, hub.ErrControlTooLong},
		{ws.OpPong, 126, hub.ErrControlTooLong},
		{ws.OpClose, 2, hub.ErrCloseFrame},
		{ws.OpContinuation, 1, hub.ErrBadOpCode},
		{3, 1, hub.ErrBadOpCode},
		{0xB, 1, hub.ErrBadOpCode},
	}
	for _, tt := range tests {
		p := make([]byte, tt.n)
		for name, err := range map[string]error{
			"Send":      r.h.Send(&c.hc, tt.op, p),
			"SendTo":    r.h.SendTo(c.hc.ID(), tt.op, p),
			"Broadcast": r.h.Broadcast(tt.op, p, nil),
			"Publish":   r.h.Publish("x", tt.op, p, nil),
		} {
			if !errors.Is(err, tt.want) {
				t.Errorf("%s(%v, %d bytes) = %v, want %v", name, tt.op, tt.n, err, tt.want)
			}
		}
	}
	for _, code := range []ws.StatusCode{0, 999, 1004, 1005, 1006, 1015, 2999, 5000} {
		if err := r.h.Close(&c.hc, code, ""); !errors.Is(err, hub.ErrBadCloseCode) {
			t.Errorf("Close(%d) = %v, want ErrBadCloseCode", code, err)
		}
	}
	r.loop.run()
	// Text, binary, ping and pong through Send, SendTo and Broadcast;
	// the Publish to "x" reaches nobody.
	if got := len(c.sock.frames(t)); got != 3*4 {
		t.Errorf("%d frames, want 12", got)
	}
	if c.hc.State() != hub.StateOpen {
		t.Errorf("state %v after refused closes, want open", c.hc.State())
	}
}

// TestRooms: membership, counts, listing and iteration, and leaving every
// room when the connection goes.
func TestRooms(t *testing.T) {
	r := newRig(t, hub.Config{})
	cs := r.openN(4)
	r.step(func() {
		for i, room := range []string{"a", "a", "b", "a"} {
			must(t, r.h.Join(&cs[i].hc, room))
		}
		must(t, r.h.Join(&cs[0].hc, "b"))
		must(t, r.h.Join(&cs[0].hc, "b")) // twice counts once
		must(t, r.h.Leave(&cs[3].hc, "a"))
		must(t, r.h.Leave(&cs[3].hc, "nowhere"))
	})
	want := []hub.RoomInfo{{Name: "a", Members: 2}, {Name: "b", Members: 2}}
	if got := r.h.Rooms(); !slices.Equal(got, want) {
		t.Errorf("Rooms() = %v, want %v", got, want)
	}
	members := func(room string) []uint64 {
		var ids []uint64
		r.h.RangeMembers(room, func(c *hub.Conn) bool { ids = append(ids, c.ID()); return true })
		slices.Sort(ids)
		return ids
	}
	if got, want := members("a"), []uint64{cs[0].hc.ID(), cs[1].hc.ID()}; !slices.Equal(got, want) {
		t.Errorf("members of a = %v, want %v", got, want)
	}
	n := 0
	r.h.RangeMembers("a", func(*hub.Conn) bool { n++; return false })
	if n != 1 {
		t.Errorf("RangeMembers went on after false: %d calls", n)
	}
	r.step(func() { cs[0].sock.Close() })
	if !cs[0].sock.attached {
		t.Fatal("Gone did not report an attached connection")
	}
	want = []hub.RoomInfo{{Name: "a", Members: 1}, {Name: "b", Members: 1}}
	if got := r.h.Rooms(); !slices.Equal(got, want) {
		t.Errorf("Rooms() after a member left = %v, want %v", got, want)
	}
	if got := members("b"); !slices.Equal(got, []uint64{cs[2].hc.ID()}) {
		t.Errorf("members of b = %v", got)
	}
	if r.h.Members("a") != 1 || r.h.Len() != 3 {
		t.Errorf("Members(a) = %d, Len = %d; want 1, 3", r.h.Members("a"), r.h.Len())
	}
}

// TestRangeMembersWhileRoomsChange reads rooms from other goroutines while
// the loop joins and leaves: -race checks the locking.
func TestRangeMembersWhileRoomsChange(t *testing.T) {
	r := newRig(t, hub.Config{})
	cs := r.openN(20)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r.h.RangeMembers("r", func(c *hub.Conn) bool { _ = c.ID(); return true })
				_ = r.h.Rooms()
			}
		})
	}
	for i := range 200 {
		r.step(func() {
			c := &cs[i%len(cs)].hc
			if i%3 == 0 {
				must(t, r.h.Leave(c, "r"))
			} else {
				must(t, r.h.Join(c, "r"))
			}
		})
	}
	close(stop)
	wg.Wait()
}

// TestStopped: once the loop has ended, sends report ErrStopped and drop
// their frames.
func TestStopped(t *testing.T) {
	r := newRig(t, hub.Config{})
	c := r.open(false)
	r.loop.mu.Lock()
	r.loop.stopped = true
	r.loop.mu.Unlock()
	if err := r.h.Send(&c.hc, ws.OpText, []byte("x")); !errors.Is(err, hub.ErrStopped) {
		t.Errorf("Send to a stopped loop = %v, want ErrStopped", err)
	}
	if err := r.h.Send(&c.hc, ws.OpText, []byte("y")); !errors.Is(err, hub.ErrStopped) {
		t.Errorf("second Send to a stopped loop = %v, want ErrStopped", err)
	}
	if err := r.h.Broadcast(ws.OpText, []byte("z"), nil); !errors.Is(err, hub.ErrStopped) {
		t.Errorf("Broadcast to a stopped loop = %v, want ErrStopped", err)
	}
}

// TestFlushInterval: with an interval, sends wait for it, even those made
// in a step, and leave together in one write.
func TestFlushInterval(t *testing.T) {
	const interval = 30 * time.Millisecond
	r := newRig(t, hub.Config{FlushInterval: interval})
	c := r.open(false)
	start := time.Now()
	r.step(func() {
		for i := range 5 {
			must(t, r.h.Send(&c.hc, ws.OpText, []byte(fmt.Sprint(i))))
		}
	})
	for i := 5; i < 10; i++ {
		must(t, r.h.Send(&c.hc, ws.OpText, []byte(fmt.Sprint(i))))
	}
	r.loop.run()
	if len(c.sock.wire) != 0 {
		t.Fatalf("%d bytes written before the flush interval", len(c.sock.wire))
	}
	r.eventually("the flush", func() bool { return len(c.sock.wire) > 0 })
	if took := time.Since(start); took < interval {
		t.Errorf("written after %v, want at least %v", took, interval)
	}
	if got := len(c.sock.frames(t)); got != 10 || c.sock.writes != 1 {
		t.Errorf("%d frames in %d writes, want 10 in 1", got, c.sock.writes)
	}
}
