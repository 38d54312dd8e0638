package hub

import (
	"fmt"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/codec"
)

// SlowPolicy says what the hub does with a connection whose backlog would
// pass the cap: a client that does not read fast enough. Its values are
// engine.SlowPolicy's, which converts by value.
type SlowPolicy uint8

const (
	// PolicyClose (the default) stops queuing for the connection and fails
	// it with close code 1008: the close frame is queued past the cap, and
	// TCP closes once the client has read it or after CloseTimeout.
	PolicyClose SlowPolicy = 0
	// PolicyDropNewest drops each message that does not fit; the connection
	// gets the older ones and resumes once its socket has taken enough.
	PolicyDropNewest SlowPolicy = 1
	// PolicyDropOldest keeps up to the cap again in the hub, above what the
	// socket holds, and drops the oldest of those to make room for new ones:
	// a client that catches up gets the latest messages (game state). Its
	// memory bound is twice the cap.
	PolicyDropOldest SlowPolicy = 2
)

// String returns the policy's name as the flags spell it.
func (p SlowPolicy) String() string {
	switch p {
	case PolicyDropNewest:
		return "drop-newest"
	case PolicyDropOldest:
		return "drop-oldest"
	}
	return "close"
}

// ParseSlowPolicy maps "close", "drop-newest" or "drop-oldest" to a policy.
func ParseSlowPolicy(s string) (SlowPolicy, error) {
	for _, p := range []SlowPolicy{PolicyClose, PolicyDropNewest, PolicyDropOldest} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("engine: unknown slow-client policy %q (want close, drop-newest or drop-oldest)", s)
}

// Stats are the hub's counters.
type Stats struct {
	Connections int   // open connections
	Dropped     int64 // messages dropped by PolicyDropNewest or PolicyDropOldest
	SlowClosed  int64 // connections closed by PolicyClose
	TimedOut    int64 // connections closed by IdleTimeout or MessageTimeout
	BudgetShed  int64 // connections closed for the buffer budget (MaxBuffered)
}

// Stats returns the hub's counters. Safe from any goroutine.
func (h *Hub) Stats() Stats {
	return Stats{Connections: h.Len(), Dropped: h.dropped.Load(), SlowClosed: h.slowClosed.Load(),
		TimedOut: h.timedOut.Load(), BudgetShed: h.budgetShed.Load()}
}

// offer queues frame f, already placed as b (costing cost if the socket
// keeps it as a piece of its own), for c, within c's backlog cap: a frame
// is admitted while the connection's backlog (what its socket holds plus
// what this flush queued, at their cost) stays within the cap with it, and
// a connection with nothing queued takes any one message, so that a
// message larger than the cap still goes to a connection that keeps up.
// Event loop only.
func (s *Shard) offer(c *Conn, f *codec.Frame, b []byte, cost int) {
	s.touch(c)
	if !c.congested && s.admit(c, b, cost) {
		return
	}
	switch s.hub.cfg.Policy {
	case PolicyDropNewest:
		s.hub.dropped.Add(1)
	case PolicyDropOldest:
		s.hold(c, f)
	default:
		c.slow = true
		s.out.slow = append(s.out.slow, c)
	}
}

// heldQueue is what the hub keeps for a congested connection under
// PolicyDropOldest, beyond what its socket holds. Only congested
// connections have one, so idle ones pay nothing for it.
type heldQueue struct {
	frames []*codec.Frame
	bytes  int
}

// touch reads what c's socket backlog costs when c gets its first frame of
// this flush; later frames of the flush are costed in its chain.
func (s *Shard) touch(c *Conn) {
	if c.tail == 0 {
		b := c.sock.Buffered()
		if b == 0 && c.backlog.Load() == 0 {
			// Empty now and after the last flush: no books to settle (an
			// entry left from before is dropped at the next tick), and a
			// fan-out to thousands pays no map lookup per recipient.
			c.out = 0
			return
		}
		c.out = s.backlogCost(c, b)
	}
}

// hold keeps f for c in the hub, dropping the oldest held frames beyond the
// cap.
func (s *Shard) hold(c *Conn, f *codec.Frame) {
	q := s.out.held[c]
	if q == nil {
		q = &heldQueue{}
		s.out.held[c] = q
		c.congested = true
		s.armTick() // held frames are retried at each tick
	}
	f.Retain(1)
	q.frames = append(q.frames, f)
	q.bytes += f.Len()
	for q.bytes > s.out.max && len(q.frames) > 0 {
		old := q.frames[0]
		q.bytes -= old.Len()
		old.Release()
		q.frames[0] = nil
		q.frames = q.frames[1:]
		s.hub.dropped.Add(1)
	}
}

// pump moves held frames of congested connections into their write chains
// as far as their sockets have taken what they had. It runs at every flush
// and at each tick.
func (s *Shard) pump() {
	for c, q := range s.out.held {
		if c.State() == StateGone || c.sealed { // (chainLast empties a sealed one)
			s.dropHeld(c, q)
			continue
		}
		s.pumpOne(c, q, s.out.max)
	}
}

// pumpAll moves all of c's held frames into its chain.
func (s *Shard) pumpAll(c *Conn, q *heldQueue) { s.pumpOne(c, q, int(^uint(0)>>1)) }

// pumpOne moves c's held frames into its chain while its backlog is under
// limit.
func (s *Shard) pumpOne(c *Conn, q *heldQueue, limit int) {
	s.touch(c)
	for len(q.frames) > 0 && c.out+s.queued(c) < limit {
		f := q.frames[0]
		q.frames[0] = nil
		q.frames = q.frames[1:]
		q.bytes -= f.Len()
		s.chain(c, s.out.place(f.Bytes()))
		s.out.keep = append(s.out.keep, f) // released after the flush
	}
	if len(q.frames) == 0 {
		delete(s.out.held, c)
		c.congested = false
	}
}

// dropHeld releases everything held for c.
func (s *Shard) dropHeld(c *Conn, q *heldQueue) {
	for _, f := range q.frames {
		f.Release()
	}
	delete(s.out.held, c)
	c.congested = false
}

// heldBytes returns the bytes held for c.
func (s *Shard) heldBytes(c *Conn) int {
	if !c.congested {
		return 0
	}
	return s.out.held[c].bytes
}

// closeSlow fails the connections that passed their cap under PolicyClose
// with 1008, after a flush.
func (s *Shard) closeSlow() {
	if len(s.out.slow) == 0 {
		return
	}
	slow := s.out.slow
	s.out.slow = nil
	for _, c := range slow {
		backlog := c.sock.Buffered()
		if s.hub.Fail(c, ws.StatusPolicyViolation, "slow consumer: outbound backlog cap reached") {
			s.hub.slowClosed.Add(1)
			s.hub.cfg.Logger.Info("slow consumer", "id", c.id, "remote", c.sock.RemoteAddr(), "backlog", backlog)
		}
	}
}
