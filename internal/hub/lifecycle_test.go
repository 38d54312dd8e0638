package hub_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/internal/hub"
)

// TestLifecycle drives one connection through the ways a close happens, in
// the orders they can cross, and checks what reaches the wire (one close
// frame at most, last), the state, the socket (write side shut, closed)
// and how the end is reported.
func TestLifecycle(t *testing.T) {
	type check struct {
		frames []frame
		state  hub.State
		shut   bool // write side shut (lingering)
		closed bool // TCP closed: Gone ran
		why    hub.Why
	}
	// Helpers for the scripts: off the loop (any goroutine) or in a step.
	appClose := func(t *testing.T, r *rig, c *fakeConn, code ws.StatusCode, want error) {
		t.Helper()
		if err := r.h.Close(&c.hc, code, "bye"); !errors.Is(err, want) {
			t.Fatalf("Close(%d) = %v, want %v", code, err, want)
		}
	}
	send := func(t *testing.T, r *rig, c *fakeConn, msg string, want error) {
		t.Helper()
		if err := r.h.Send(&c.hc, ws.OpText, []byte(msg)); !errors.Is(err, want) {
			t.Fatalf("Send(%q) = %v, want %v", msg, err, want)
		}
	}
	tests := []struct {
		name   string
		script func(t *testing.T, r *rig, c *fakeConn)
		want   check
	}{
		{
			name: "Close, then the peer answers",
			script: func(t *testing.T, r *rig, c *fakeConn) {
				send(t, r, c, "before", nil)
				appClose(t, r, c, 4000, nil)
				send(t, r, c, "after", hub.ErrClosing)
				appClose(t, r, c, 4001, hub.ErrClosing)
				_ = r.h.Broadcast(ws.OpText, []byte("broadcast after"), nil)
				r.loop.run()
				if c.hc.State() != hub.StateClosing {
					t.Fatalf("state %v after Close, want closing", c.hc.State())
				}
				r.step(func() { r.h.PeerClosed(&c.hc, 4000, "") })
			},
			want: check{frames: []frame{txt("before"), closing(4000, "bye")}, state: hub.StateGone, closed: true,
				why: hub.Why{Code: 4000, Reason: "bye"}},
		},
		{
			name: "the peer closes first: echo, shut, linger until its EOF",
			script: func(t *testing.T, r *rig, c *fakeConn) {
				r.step(func() {
					must(t, r.h.Send(&c.hc, ws.OpText, []byte("reply")))
					r.h.PeerClosed(&c.hc, 1001, "leaving")
					send(t, r, c, "after", hub.ErrClosing)
				})
				appClose(t, r, c, 1000, hub.ErrClosing)
			},
			want: check{frames: []frame{txt("reply"), closing(1001, "")}, state: hub.StateLinger, shut: true,
				why: hub.Why{Code: 1001, Reason: "leaving", Remote: true}},
		},
		{
			name: "the peer's empty close is answered with an empty one",
			script: func(t *testing.T, r *rig, c *fakeConn) {
				r.step(func() { r.h.PeerClosed(&c.hc, ws.StatusNoStatusRcvd, "") })
			},
			want: check{frames: []frame{{op: ws.OpClose, code: ws.StatusNoStatusRcvd}}, state: hub.StateLinger, shut: true,
				why: hub.Why{Code: ws.StatusNoStatusRcvd, Remote: true}},
		},
		{
			name: "closes cross: Close queued, the peer's close arrives before it left",
			script: func(t *testing.T, r *rig, c *fakeConn) {
				appClose(t, r, c, 4000, nil) // its drain has not run yet
				r.step(func() { r.h.PeerClosed(&c.hc, 1000, "") })
				r.loop.run()
			},
			want: check{frames: []frame{closing(4000, "bye")}, state: hub.StateLinger, shut: true,
				why: hub.Why{Code: 4000, Reason: "bye"}},
		},
		{
			name: "protocol violation: close frame with the code, shut, linger",
			script: func(t *testing.T, r *rig, c *fakeConn) {
				r.step(func() {
					must(t, r.h.Send(&c.hc, ws.OpText, []byte("queued before")))
					r.h.Fail(&c.hc, ws.StatusProtocolError, "bad frame")
					must(t, r.h.Broadcast(ws.OpText, []byte("after"), nil))
				})
			},
			want: check{frames: []frame{txt("queued before"), closing(1002, "bad frame")}, state: hub.StateLinger, shut: true,
				why: hub.Why{Code: 1002, Reason: "bad frame"}},
		},
		{
			name: "violation after Close: no second close frame",
			script: func(t *testing.T, r *rig, c *fakeConn) {
				appClose(t, r, c, 4000, nil)
				r.loop.run()
				r.step(func() { r.h.Fail(&c.hc, ws.StatusProtocolError, "bad frame") })
			},
			want: check{frames: []frame{closing(4000, "bye")}, state: hub.StateLinger, shut: true,
				why: hub.Why{Code: 4000, Reason: "bye"}},
		},
		{
			name: "Fail twice: the first wins",
			script: func(t *testing.T, r *rig, c *fakeConn) {
				r.step(func() {
					if !r.h.Fail(&c.hc, ws.StatusInternalServerError, "panic") || r.h.Fail(&c.hc, 1002, "late") {
						t.Error("Fail: want true, then false")
					}
				})
			},
			want: check{frames: []frame{closing(1011, "panic")}, state: hub.StateLinger, shut: true,
				why: hub.Why{Code: 1011, Reason: "panic"}},
		},
		{
			name: "the peer drops TCP while open",
			script: func(t *testing.T, r *rig, c *fakeConn) {
				r.step(func() { c.sock.Close() })
				send(t, r, c, "late", hub.ErrClosed)
				appClose(t, r, c, 1000, hub.ErrClosed)
				if err := r.h.Join(&c.hc, "r"); !errors.Is(err, hub.ErrClosed) {
					t.Errorf("Join once gone = %v", err)
				}
			},
			want: check{state: hub.StateGone, closed: true, why: hub.Why{Code: 1006, Reason: "connection lost", Remote: true}},
		},
		{
			name: "the peer drops TCP while we wait for its close",
			script: func(t *testing.T, r *rig, c *fakeConn) {
				appClose(t, r, c, 4000, nil)
				r.loop.run()
				r.step(func() { c.sock.Close() })
			},
			want: check{frames: []frame{closing(4000, "bye")}, state: hub.StateGone, closed: true,
				why: hub.Why{Code: 1006, Reason: "no close frame from the peer after bye"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, hub.Config{})
			c := r.open(false)
			other := r.open(false)
			tt.script(t, r, c)
			r.loop.run()
			if got := c.sock.frames(t); !slices.Equal(got, tt.want.frames) {
				t.Errorf("frames %v, want %v", got, tt.want.frames)
			}
			if st := c.hc.State(); st != tt.want.state {
				t.Errorf("state %v, want %v", st, tt.want.state)
			}
			if c.sock.shut != tt.want.shut || c.sock.closed != tt.want.closed {
				t.Errorf("write side shut %v, closed %v; want %v, %v", c.sock.shut, c.sock.closed, tt.want.shut, tt.want.closed)
			}
			if c.hc.State() == hub.StateLinger {
				r.step(func() { c.sock.Close() }) // the peer's EOF ends the linger
			}
			if c.sock.gone != tt.want.why {
				t.Errorf("Gone reported %+v, want %+v", c.sock.gone, tt.want.why)
			}
			// The other connection is untouched and still gets messages.
			must(t, r.h.Send(&other.hc, ws.OpText, []byte("still here")))
			r.loop.run()
			if got := other.sock.frames(t); len(got) == 0 || got[len(got)-1] != txt("still here") || other.hc.State() != hub.StateOpen {
				t.Errorf("the other connection (state %v) got %v", other.hc.State(), got)
			}
		})
	}
}

// TestTimeouts: each waiting state ends at its deadline, not before.
func TestTimeouts(t *testing.T) {
	const d = 60 * time.Millisecond
	cfg := hub.Config{HandshakeTimeout: d, CloseTimeout: d, LingerTimeout: d, Tick: 10 * time.Millisecond}
	tests := []struct {
		name  string
		start func(t *testing.T, r *rig) *fakeConn
		why   hub.Why // reported by Gone; zero for a connection never opened
	}{
		{name: "handshake", start: func(t *testing.T, r *rig) *fakeConn { return r.open(true) }},
		{name: "closing: the peer never answers", start: func(t *testing.T, r *rig) *fakeConn {
			c := r.open(false)
			must(t, r.h.Close(&c.hc, 4000, "bye"))
			return c
		}, why: hub.Why{Code: 1006, Reason: "no close frame from the peer after bye"}},
		{name: "draining: the peer does not read our close frame", start: func(t *testing.T, r *rig) *fakeConn {
			c := r.open(false)
			c.sock.take = 0 // the kernel takes nothing
			r.step(func() { r.h.Fail(&c.hc, 1002, "bad") })
			return c
		}, why: hub.Why{Code: 1002, Reason: "bad"}},
		{name: "linger: the peer never closes", start: func(t *testing.T, r *rig) *fakeConn {
			c := r.open(false)
			r.step(func() { r.h.PeerClosed(&c.hc, 1000, "") })
			return c
		}, why: hub.Why{Code: 1000, Remote: true}},
		{name: "refused handshake lingers after the response", start: func(t *testing.T, r *rig) *fakeConn {
			c := r.open(true)
			r.step(func() {
				_, _ = c.sock.Write([]byte("HTTP/1.1 403 Forbidden\r\n\r\n"))
				r.h.Finish(&c.hc)
			})
			if !c.sock.shut {
				t.Error("write side not shut after the response left")
			}
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, cfg)
			start := time.Now()
			c := tt.start(t, r)
			for time.Since(start) < d*8/10 {
				r.loop.run()
				if c.sock.closed {
					t.Fatalf("closed after %v, before the %v deadline", time.Since(start), d)
				}
				time.Sleep(5 * time.Millisecond)
			}
			r.eventually("the deadline", func() bool { return c.sock.closed })
			if c.sock.gone != tt.why {
				t.Errorf("Gone reported %+v, want %+v", c.sock.gone, tt.why)
			}
		})
	}
}

// TestDrainWaitsForTheSocket: the write side is shut only once the socket
// has handed everything, the close frame last, to the kernel.
func TestDrainWaitsForTheSocket(t *testing.T) {
	r := newRig(t, hub.Config{Tick: 5 * time.Millisecond})
	c := r.open(false)
	c.sock.take = 3
	r.step(func() {
		must(t, r.h.Send(&c.hc, ws.OpText, []byte("a long message the client reads slowly")))
		r.h.PeerClosed(&c.hc, 1000, "")
	})
	r.loop.run()
	if c.sock.shut || c.hc.State() != hub.StateDraining {
		t.Fatalf("state %v, shut %v with %d bytes still buffered", c.hc.State(), c.sock.shut, c.sock.Buffered())
	}
	c.sock.take = -1
	c.sock.drain()
	r.eventually("the write side shut after the drain", func() bool { return c.sock.shut })
	if st := c.hc.State(); st != hub.StateLinger {
		t.Errorf("state %v, want linger", st)
	}
	if got := c.sock.frames(t); len(got) != 2 || got[1].op != ws.OpClose {
		t.Errorf("frames %v, want the message and the close frame", got)
	}
}

// TestPeerCloseCrossesOurBufferedClose: the peer's close arrives while our
// close frame is still in the socket's buffer (behind a large message the
// client had not read): TCP closes only once everything, our close frame
// last, has left, not at once.
func TestPeerCloseCrossesOurBufferedClose(t *testing.T) {
	r := newRig(t, hub.Config{Tick: 5 * time.Millisecond})
	c := r.open(false)
	c.sock.take = 0
	must(t, r.h.Send(&c.hc, ws.OpText, []byte(strings.Repeat("x", 10000))))
	must(t, r.h.Close(&c.hc, 1000, "bye"))
	r.loop.run()
	r.step(func() { r.h.PeerClosed(&c.hc, 1000, "") })
	r.loop.run()
	if c.sock.closed || c.sock.shut {
		t.Fatalf("closed %v, shut %v with %d bytes, our close frame among them, not taken by the kernel", c.sock.closed, c.sock.shut, c.sock.Buffered())
	}
	c.sock.take = -1
	c.sock.drain()
	r.eventually("the write side shut once the close frame left", func() bool { return c.sock.shut })
	got := c.sock.frames(t)
	if len(got) != 2 || got[1] != closing(1000, "bye") {
		t.Fatalf("frames %v, want the message and our close frame", got)
	}
	r.step(func() { c.sock.Close() })
	if want := (hub.Why{Code: 1000, Reason: "bye"}); c.sock.gone != want {
		t.Errorf("Gone reported %+v, want %+v", c.sock.gone, want)
	}
}
