package hub_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/internal/hub"
)

// TestSlowConsumer sends 50 messages of 100 bytes to a connection whose
// socket takes nothing, under a 1,000-byte cap, with each policy; then the
// client catches up and the test reads what it got.
func TestSlowConsumer(t *testing.T) {
	const capBytes, n = 1000, 50
	msg := func(i int) string { return fmt.Sprintf("%03d%097d", i, 0) } // 100 bytes
	tests := []struct {
		policy hub.SlowPolicy
		check  func(t *testing.T, got []frame, st hub.Stats, c *fakeConn)
	}{
		{hub.PolicyClose, func(t *testing.T, got []frame, st hub.Stats, c *fakeConn) {
			if st.SlowClosed != 1 || st.Dropped != 0 {
				t.Errorf("Stats %+v, want one slow close", st)
			}
			last := got[len(got)-1]
			if last.op != ws.OpClose || last.code != ws.StatusPolicyViolation {
				t.Fatalf("last frame %v, want close 1008", last)
			}
			checkSeq(t, got[:len(got)-1], 0, 1)
			if len(got)-1 > capBytes/100+1 {
				t.Errorf("%d messages before the close, want at most the cap plus one", len(got)-1)
			}
			if !c.sock.shut || c.hc.State() != hub.StateLinger {
				t.Errorf("state %v, shut %v: want the write side shut once the client read the close", c.hc.State(), c.sock.shut)
			}
		}},
		{hub.PolicyDropNewest, func(t *testing.T, got []frame, st hub.Stats, c *fakeConn) {
			if st.Dropped == 0 || st.SlowClosed != 0 || int(st.Dropped)+len(got) != n {
				t.Errorf("Stats %+v with %d received, want drops adding up to %d", st, len(got), n)
			}
			checkSeq(t, got, 0, 1) // the oldest, in order
		}},
		{hub.PolicyDropOldest, func(t *testing.T, got []frame, st hub.Stats, c *fakeConn) {
			if st.Dropped == 0 || int(st.Dropped)+len(got) != n {
				t.Errorf("Stats %+v with %d received, want drops adding up to %d", st, len(got), n)
			}
			if last := got[len(got)-1].payload[:3]; last != fmt.Sprintf("%03d", n-1) {
				t.Errorf("last message %s, want the newest, %d", last, n-1)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.policy.String(), func(t *testing.T) {
			r := newRig(t, hub.Config{MaxBacklog: capBytes, Policy: tt.policy, Tick: 5 * time.Millisecond})
			c := r.open(false)
			fast := r.open(false)
			c.sock.take = 0
			for i := range n {
				must(t, r.h.Broadcast(ws.OpText, []byte(msg(i)), nil))
				r.loop.run()
				if b := c.hc.Backlog(); b > 2*(capBytes+102) {
					t.Fatalf("backlog %d bytes, over the bound", b)
				}
			}
			if got := len(fast.sock.frames(t)); got != n {
				t.Errorf("the fast connection got %d messages, want all %d", got, n)
			}
			c.sock.take = -1 // the client catches up
			c.sock.drain()
			r.eventually("everything written", func() bool {
				c.sock.drain()
				return c.sock.Buffered() == 0 && (tt.policy != hub.PolicyDropOldest || c.hc.Backlog() == 0)
			})
			if tt.policy == hub.PolicyClose {
				r.eventually("the write side shut at a tick", func() bool { return c.sock.shut })
			}
			tt.check(t, c.sock.frames(t), r.h.Stats(), c)
		})
	}
}

// checkSeq checks that frames carry rising sequence numbers from first.
func checkSeq(t *testing.T, got []frame, first, step int) {
	t.Helper()
	for k, f := range got {
		seq, err := strconv.Atoi(f.payload[:3])
		if err != nil || seq != first+k*step {
			t.Fatalf("message %d is %q, want sequence %d", k, f.payload[:3], first+k*step)
		}
	}
}

// TestHeldFramesBeforeTheCloseFrame: under PolicyDropOldest, the frames
// held for a congested connection when its close frame is queued go out
// before it, and nothing after it, however the close started.
func TestHeldFramesBeforeTheCloseFrame(t *testing.T) {
	tests := []struct {
		name  string
		close func(r *rig, c *fakeConn)
	}{
		{name: "Close", close: func(r *rig, c *fakeConn) { must(r.t, r.h.Close(&c.hc, 1000, "bye")) }},
		{name: "the peer's close", close: func(r *rig, c *fakeConn) { r.step(func() { r.h.PeerClosed(&c.hc, 1000, "") }) }},
		{name: "Fail", close: func(r *rig, c *fakeConn) { r.step(func() { r.h.Fail(&c.hc, 1002, "bad") }) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const capBytes = 1000
			r := newRig(t, hub.Config{MaxBacklog: capBytes, Policy: hub.PolicyDropOldest, Tick: 5 * time.Millisecond})
			c := r.open(false)
			c.sock.take = 0
			for i := range 30 {
				must(t, r.h.Send(&c.hc, ws.OpText, []byte(fmt.Sprintf("%03d%097d", i, 0))))
				r.loop.run()
			}
			tt.close(r, c)
			r.loop.run()
			c.sock.take = -1 // the client catches up and reads
			c.sock.drain()
			for range 5 { // ticks retry held frames
				time.Sleep(5 * time.Millisecond)
				r.loop.run()
				c.sock.drain()
			}
			got := c.sock.frames(t)
			if last := got[len(got)-1]; last.op != ws.OpClose {
				t.Fatalf("last of %d frames is %v, want the close frame", len(got), last)
			}
			for i, f := range got[:len(got)-1] {
				if f.op == ws.OpClose {
					t.Fatalf("close frame at %d of %d frames", i, len(got))
				}
			}
			// Every message is there but the dropped oldest: the held ones
			// were not lost to the close.
			if dropped := int(r.h.Stats().Dropped); len(got)-1+dropped != 30 {
				t.Errorf("%d messages + %d dropped, want 30", len(got)-1, dropped)
			}
			prev := -1
			for _, f := range got[:len(got)-1] {
				seq, _ := strconv.Atoi(f.payload[:3])
				if seq <= prev {
					t.Fatalf("message %d after %d: out of order", seq, prev)
				}
				prev = seq
			}
			if prev != 29 {
				t.Errorf("last message %d, want the newest, 29", prev)
			}
		})
	}
}

// TestBacklogCost: the cap compares what a backlog costs (Config.BufferCost)
// and not its bytes, and the slack the budget counts on top of each
// backlog is not taken out of the cap.
func TestBacklogCost(t *testing.T) {
	tests := []struct {
		name     string
		cost     hub.CostModel
		slack    int
		capBytes int
		size     int // of each message's payload
		wantMax  int // messages the socket may hold, at most
		wantMin  int // and at least
	}{
		// 100-byte payloads are 102-byte frames.
		{name: "bytes", capBytes: 1020, size: 100, wantMin: 10, wantMax: 10},
		{name: "rounded to 128", cost: hub.CostModel{Pow2: true}, capBytes: 1020, size: 100, wantMin: 7, wantMax: 7},
		{name: "slack larger than the cap", slack: 32 << 10, capBytes: 1020, size: 100, wantMin: 10, wantMax: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, hub.Config{MaxBacklog: tt.capBytes, Policy: hub.PolicyDropNewest,
				BufferCost: tt.cost, BufferSlack: tt.slack, Tick: 5 * time.Millisecond})
			c := r.open(false)
			c.sock.take = 0
			for range 40 {
				must(t, r.h.Send(&c.hc, ws.OpBinary, make([]byte, tt.size)))
				r.loop.run() // one message a flush: no merging
			}
			held := c.sock.Buffered() / (tt.size + 2)
			if held < tt.wantMin || held > tt.wantMax {
				t.Errorf("the socket holds %d messages, want %d to %d", held, tt.wantMin, tt.wantMax)
			}
		})
	}
}

// TestBacklogCostMerged: frames of one flush that leave as one piece are
// admitted by what that piece costs, not by the sum of theirs: with a cost
// that rounds up to a power of two, the piece the socket keeps stays within
// the cap.
func TestBacklogCostMerged(t *testing.T) {
	model := hub.CostModel{Pow2: true}
	pow2 := model.Cost
	const capBytes, size = 5000, 1022 // 1,026-byte frames
	r := newRig(t, hub.Config{MaxBacklog: capBytes, Policy: hub.PolicyDropNewest, BufferCost: model,
		Tick: 5 * time.Millisecond})
	c := r.open(false)
	c.sock.take = 0
	for range 8 {
		must(t, r.h.Send(&c.hc, ws.OpBinary, make([]byte, size)))
	}
	r.loop.run() // one flush: the frames are adjacent in the arena
	if got := pow2(c.sock.Buffered()); got > capBytes || c.sock.Buffered() < 2*(size+4) {
		t.Errorf("the socket keeps %d bytes, costing %d; want more than one message, within the cap of %d",
			c.sock.Buffered(), got, capBytes)
	}
}
