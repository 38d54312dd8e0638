package engine_test

import (
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/wstest"
)

// TestKeepaliveDeadlines: each deadline closes the connection that
// breaks it with its documented code, and no sooner than it should.
func TestKeepaliveDeadlines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   []engine.Option
		client func(c *rawConn) // what the client does after the handshake
		code   ws.StatusCode
		reason string
		after  time.Duration // the close comes no sooner
		pings  int           // at least this many pings come before the close
	}{
		{
			name:   "a silent client",
			opts:   []engine.Option{engine.WithIdleTimeout(400 * time.Millisecond)},
			client: func(*rawConn) {},
			code:   engine.StatusGoingAway, reason: "idle timeout", after: 400 * time.Millisecond,
		},
		{
			name: "a client that never answers pings",
			// The idle deadline is well past the pings, so that a late tick
			// on a busy machine still sends them first.
			opts:   []engine.Option{engine.WithPingInterval(150 * time.Millisecond), engine.WithIdleTimeout(time.Second)},
			client: func(*rawConn) {}, // it reads the pings below, and never answers
			pings:  2,
			code:   engine.StatusGoingAway, reason: "idle timeout", after: time.Second,
		},
		{
			name: "a dribbling frame",
			opts: []engine.Option{engine.WithMessageTimeout(400 * time.Millisecond), engine.WithIdleTimeout(10 * time.Second)},
			client: func(c *rawConn) {
				b := wstest.Text(string(make([]byte, 100))).Bytes()
				for i := range 6 { // 6 bytes every 100 ms: active, never done
					c.Write(b[i*6 : i*6+6])
					time.Sleep(100 * time.Millisecond)
				}
			},
			code: engine.StatusPolicyViolation, reason: "message not completed in time", after: 400 * time.Millisecond,
		},
		{
			name: "a fragmented message that never ends",
			opts: []engine.Option{engine.WithMessageTimeout(400 * time.Millisecond)},
			client: func(c *rawConn) {
				c.Send(wstest.Frame{Op: ws.OpText, Payload: []byte("part")})
				for range 5 {
					c.Send(wstest.Frame{Op: ws.OpContinuation, Payload: []byte("more")})
					time.Sleep(100 * time.Millisecond)
				}
			},
			code: engine.StatusPolicyViolation, reason: "message not completed in time", after: 400 * time.Millisecond,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, addr := serve(t, echo(), tt.opts...)
			// The server's clocks start when it opens the connection, which
			// is after the request leaves and before the 101 arrives: start
			// counting before the dial, so that the check below is a true
			// lower bound however long the 101 takes to come back.
			start := time.Now()
			c := dialUpgraded(t, addr)
			tt.client(c)
			code, reason, pings := closeAfterPings(t, c)
			if code != tt.code || reason != tt.reason || pings < tt.pings {
				t.Errorf("close %d %q after %d pings, want %d %q after %d or more", code, reason, pings, tt.code, tt.reason, tt.pings)
			}
			if d := time.Since(start); d < tt.after {
				t.Errorf("closed after %v, before the deadline of %v", d, tt.after)
			}
			if n := srv.Stats().TimedOut; n != 1 {
				t.Errorf("Stats.TimedOut = %d, want 1", n)
			}
		})
	}
}

// TestKeepaliveLive: a client that answers pings stays, and its pongs
// give a round trip that OnPong and Conn.Latency see; messages that keep
// completing never hit the message deadline.
func TestKeepaliveLive(t *testing.T) {
	t.Parallel()
	var pongs atomic.Int64
	conns := make(chan *engine.Conn, 1)
	srv, addr := serve(t, engine.Handler{
		OnConnect: func(c *engine.Conn) { conns <- c },
		OnPong: func(c *engine.Conn, _ []byte, rtt time.Duration) {
			if rtt > 0 && c.Latency() == rtt {
				pongs.Add(1)
			}
		},
		OnMessage: func(c *engine.Conn, op engine.OpCode, p []byte) { _ = c.Send(op, p) },
	}, engine.WithPingInterval(100*time.Millisecond), engine.WithIdleTimeout(2*time.Second),
		engine.WithMessageTimeout(2*time.Second))
	c := dialUpgraded(t, addr)
	sc := <-conns
	// A second of answered pings; the deadlines are far enough (20
	// intervals) that a test goroutine stalled on a busy machine is not
	// mistaken for a dead client.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		h, p, err := c.ReadFrame()
		if err != nil {
			t.Fatalf("read: %v (after %d pongs)", err, pongs.Load())
		}
		if h.OpCode != ws.OpPing || len(p) != 8 {
			t.Fatalf("got %v %q, want an 8-byte ping", h.OpCode, p)
		}
		c.Send(wstest.Frame{Fin: true, Op: ws.OpPong, Payload: p})
		c.SendText("hi")
		for {
			h, _, err := c.ReadFrame()
			if err != nil || h.OpCode == ws.OpText {
				break
			}
		}
	}
	if n := pongs.Load(); n < 3 {
		t.Errorf("%d pongs with a round trip, want about 10", n)
	}
	if sc.Latency() <= 0 || sc.Latency() > time.Second {
		t.Errorf("Latency() = %v", sc.Latency())
	}
	if n := srv.Stats().TimedOut; n != 0 {
		t.Errorf("Stats.TimedOut = %d", n)
	}
}

// closeAfterPings reads the server's close frame, counting the pings
// before it.
func closeAfterPings(t *testing.T, c *rawConn) (ws.StatusCode, string, int) {
	t.Helper()
	for pings := 0; ; pings++ {
		h, p, err := c.ReadFrame()
		if err != nil {
			t.Fatalf("read: %v after %d pings", err, pings)
		}
		if h.OpCode == ws.OpPing {
			continue
		}
		if h.OpCode != ws.OpClose || len(p) < 2 {
			t.Fatalf("got %v %q, want a close frame", h.OpCode, p)
		}
		return ws.StatusCode(binary.BigEndian.Uint16(p)), string(p[2:]), pings
	}
}
