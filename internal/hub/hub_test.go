package hub_test

import (
	"context"
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

// hookSocket runs hook on its first write: another goroutine's send made
// while the loop is flushing.
type hookSocket struct {
	*fakeSocket
	hook func()
}

func (s *hookSocket) Write(b []byte) (int, error) {
	if h := s.hook; h != nil {
		s.hook = nil
		h()
	}
	return s.fakeSocket.Write(b)
}

// TestFlushIntervalHoldsSendsMadeDuringADrain: with an interval, a send
// made while the loop drains the previous batch waits for the next
// interval; it is not written by the drain that is running.
func TestFlushIntervalHoldsSendsMadeDuringADrain(t *testing.T) {
	const interval = 50 * time.Millisecond
	r := newRig(t, hub.Config{FlushInterval: interval})
	b := r.open(false)
	a := &fakeConn{}
	a.sock = fakeSocket{r: r, c: a, take: -1}
	var sentAt time.Time
	hs := &hookSocket{fakeSocket: &a.sock, hook: func() {
		sentAt = time.Now()
		must(t, r.h.Send(&b.hc, ws.OpText, []byte("late")))
	}}
	r.h.Open(&a.hc, r.loop, hs, a)
	r.step(func() { r.h.Attach(&a.hc) })
	must(t, r.h.Send(&a.hc, ws.OpText, []byte("first")))
	r.eventually("the first flush", func() bool { return len(a.sock.wire) > 0 })
	if len(b.sock.wire) > 0 {
		t.Fatalf("a send made during a drain was written %v after it, before the %v interval", time.Since(sentAt), interval)
	}
	r.eventually("the second flush", func() bool { return len(b.sock.wire) > 0 })
	if waited := time.Since(sentAt); waited < interval*8/10 {
		t.Errorf("written %v after it was sent, want about the %v interval", waited, interval)
	}
}

// producingSocket makes "another goroutine" send to its connection again at
// every write: a producer that never stops.
type producingSocket struct {
	*fakeSocket
	send func()
}

func (s *producingSocket) Write(b []byte) (int, error) {
	s.send()
	return s.fakeSocket.Write(b)
}

// TestBusyProducerDoesNotHoldTheLoop: a step applies a bounded number of
// batches; what other goroutines keep sending meanwhile goes to a drain
// task, so that the loop gets back to its other events in between.
func TestBusyProducerDoesNotHoldTheLoop(t *testing.T) {
	r := newRig(t, hub.Config{})
	c := &fakeConn{}
	c.sock = fakeSocket{r: r, c: c, take: -1}
	ps := &producingSocket{fakeSocket: &c.sock}
	ps.send = func() { must(t, r.h.Send(&c.hc, ws.OpText, []byte("more"))) }
	r.h.Open(&c.hc, r.loop, ps, c)
	r.sh = c.hc.Shard()
	r.step(func() { r.h.Attach(&c.hc) })
	before := r.loop.wakeups()
	r.step(func() { must(t, r.h.Send(&c.hc, ws.OpText, []byte("start"))) })
	if c.sock.writes > 10 {
		t.Fatalf("one step wrote %d batches of a producer that never stops", c.sock.writes)
	}
	if r.loop.wakeups() != before+1 {
		t.Fatalf("%d wake-ups: the rest was not handed to one drain task", r.loop.wakeups()-before)
	}
	writes := c.sock.writes
	r.loop.mu.Lock()
	task := r.loop.tasks[0]
	r.loop.tasks = r.loop.tasks[1:]
	r.loop.mu.Unlock()
	_ = task.Run(context.Background())
	if got := c.sock.writes - writes; got == 0 || got > 10 {
		t.Errorf("the drain task wrote %d batches, want a few", got)
	}
}
