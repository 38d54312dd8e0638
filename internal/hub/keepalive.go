package hub

import (
	"encoding/binary"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/codec"
)

// Keepalive of open connections. An open connection's one timer (the same
// wheel timer its other states use) is due at the earliest of its next
// ping, its idle deadline and its message deadline; when it fires, the
// clocks below say which came due, and the timer is set for the next. Input
// only updates the clocks (Read), except when a message begins and its
// deadline is sooner than the timer. So a connection costs O(1) per ping
// interval, or per idle timeout, whichever is shorter, and nothing per
// frame.
//
//   - PingInterval: a ping every interval, its payload the send time (8
//     bytes); the pong's round trip is Latency.
//   - IdleTimeout: no input from the peer for that long fails the
//     connection with 1001 "idle timeout" (pongs count as input).
//   - MessageTimeout: a message whose first byte came that long ago and
//     that has not ended (a frame still arriving, or a fragmented message
//     without its final fragment) fails it with 1008 "message not
//     completed in time".

// epoch is the base of the clocks: monotonic, unlike wall time.
var epoch = time.Now()

func mono(t time.Time) int64 { return int64(t.Sub(epoch)) }

// liveness holds a connection's keepalive clocks, as mono values.
type liveness struct {
	seen     int64 // last input
	msgStart int64 // first byte of the message in progress; 0: none
	pinged   int64 // last ping sent
}

// keepaliveOn reports whether any keepalive option is set.
func (h *Hub) keepaliveOn() bool {
	cfg := &h.cfg
	return cfg.PingInterval > 0 || cfg.IdleTimeout > 0 || cfg.MessageTimeout > 0
}

// startKeepalive starts the clocks of a connection that just opened.
func (s *Shard) startKeepalive(c *Conn) {
	if !s.hub.keepaliveOn() {
		return
	}
	now := time.Now()
	m := mono(now)
	c.live = liveness{seen: m, pinged: m}
	s.rearm(c, now)
}

// Read records input from the peer; inMessage says a message has begun
// and not ended. It reads the clock only when a deadline needs it: on
// every input with IdleTimeout, when a message begins with
// MessageTimeout. Event loop only.
func (h *Hub) Read(c *Conn, inMessage bool) {
	if !inMessage {
		c.live.msgStart = 0
	}
	starts := inMessage && c.live.msgStart == 0 && h.cfg.MessageTimeout > 0
	if h.cfg.IdleTimeout <= 0 && !starts {
		return
	}
	now := time.Now()
	m := mono(now)
	c.live.seen = m
	if !starts {
		return
	}
	c.live.msgStart = m
	if c.State() == StateOpen {
		s := c.shard
		s.wheel.SetBefore(&c.timer, now, h.cfg.MessageTimeout)
		s.armTick()
	}
}

// Pong handles the peer's pong: one that answers our last ping gives the
// round trip. It returns the round trip, or 0 for an unsolicited pong.
// Event loop only.
func (h *Hub) Pong(c *Conn, payload []byte) time.Duration {
	if len(payload) != 8 || c.live.pinged == 0 || int64(binary.BigEndian.Uint64(payload)) != c.live.pinged {
		return 0
	}
	rtt := max(time.Duration(mono(time.Now())-c.live.pinged), 1)
	c.rtt.Store(int64(rtt))
	return rtt
}

// keepalive runs when an open connection's timer fires.
func (s *Shard) keepalive(c *Conn) {
	cfg := &s.hub.cfg
	now := time.Now()
	m := mono(now)
	switch l := &c.live; {
	case cfg.MessageTimeout > 0 && l.msgStart != 0 && m-l.msgStart >= int64(cfg.MessageTimeout):
		s.timeout(c, ws.StatusPolicyViolation, "message not completed in time")
		return
	case cfg.IdleTimeout > 0 && m-l.seen >= int64(cfg.IdleTimeout):
		s.timeout(c, ws.StatusGoingAway, "idle timeout")
		return
	case cfg.PingInterval > 0 && m-l.pinged >= int64(cfg.PingInterval):
		l.pinged = m
		var p [8]byte
		binary.BigEndian.PutUint64(p[:], uint64(m))
		_ = s.enqueue(job{kind: opSend, c: c, f: codec.NewFrame(ws.OpPing, p[:])})
	}
	s.rearm(c, now)
}

// rearm sets c's timer for the earliest of its deadlines.
func (s *Shard) rearm(c *Conn, now time.Time) {
	cfg := &s.hub.cfg
	m, l := mono(now), &c.live
	next := int64(1<<63 - 1)
	if cfg.PingInterval > 0 {
		next = min(next, l.pinged+int64(cfg.PingInterval))
	}
	if cfg.IdleTimeout > 0 {
		next = min(next, l.seen+int64(cfg.IdleTimeout))
	}
	if cfg.MessageTimeout > 0 && l.msgStart != 0 {
		next = min(next, l.msgStart+int64(cfg.MessageTimeout))
	}
	if next == 1<<63-1 {
		return // only MessageTimeout, and no message: Read arms it
	}
	s.setTimer(c, time.Duration(max(next-m, 0)))
}

// timeout fails c for a keepalive deadline.
func (s *Shard) timeout(c *Conn, code ws.StatusCode, reason string) {
	s.hub.cfg.Logger.Info("keepalive", "id", c.id, "code", int(code), "reason", reason)
	if s.hub.Fail(c, code, reason) {
		s.hub.timedOut.Add(1)
	}
}
