package hub

import (
	"fmt"

	"github.com/wshub/wshub/codec"
)

// DefaultMaxBacklog is the default cap on the bytes queued for one
// connection that its socket has not taken yet.
const DefaultMaxBacklog = 4 << 20

// SlowPolicy says what the hub does with a connection whose backlog would
// pass the cap: a client that does not read fast enough.
type SlowPolicy uint8

const (
	// PolicyClose (the default) stops queuing for the connection and closes
	// it through Hub.OnSlow (the engine fails it with close code 1008).
	PolicyClose SlowPolicy = iota
	// PolicyDropNewest drops each message that does not fit; the connection
	// gets the older ones and resumes once its socket has taken enough.
	PolicyDropNewest
	// PolicyDropOldest keeps up to the cap again in the hub, above what the
	// socket holds, and drops the oldest of those to make room for new ones:
	// a client that catches up gets the latest messages (game state). Its
	// memory bound is twice the cap.
	PolicyDropOldest
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
	return 0, fmt.Errorf("hub: unknown slow-client policy %q (want close, drop-newest or drop-oldest)", s)
}

// Stats are the hub's counters. Safe from any goroutine.
type Stats struct {
	Connections int   // attached connections
	Dropped     int64 // messages dropped by PolicyDropNewest or PolicyDropOldest
	SlowClosed  int64 // connections closed by PolicyClose
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	return Stats{Connections: h.Len(), Dropped: h.dropped.Load(), SlowClosed: h.slowClosed.Load()}
}

func (h *Hub) maxBacklog() int {
	switch {
	case h.MaxBacklog == 0:
		return DefaultMaxBacklog
	case h.MaxBacklog < 0:
		return int(^uint(0) >> 1)
	}
	return h.MaxBacklog
}

// offer queues frame f, already placed as b, for c, within c's backlog cap:
// a frame is admitted while the connection's backlog (what its socket holds
// plus what this drain queued) is under the cap, so the cap can be passed
// by at most one message, and a message larger than the cap still goes to
// a connection that keeps up. Event loop only.
func (s *Shard) offer(c *Conn, f *codec.Frame, b []byte) {
	s.touch(c)
	if !c.congested && c.out+c.pending < s.max {
		s.chain(c, b)
		c.pending += len(b)
		return
	}
	switch s.hub.Policy {
	case PolicyDropNewest:
		s.hub.dropped.Add(1)
	case PolicyDropOldest:
		s.hold(c, f)
	default:
		if !c.slow {
			c.slow = true
			c.sealed = true
			s.slow = append(s.slow, c)
		}
	}
}

// heldQueue is what the hub keeps for a congested connection under
// PolicyDropOldest, beyond what its socket holds. Only congested
// connections have one (in Shard.held), so idle ones pay nothing for it.
type heldQueue struct {
	frames []*codec.Frame
	bytes  int
}

// touch reads c's socket backlog when c gets its first frame of this drain;
// later frames of the drain add to c.pending instead. Event loop only.
func (s *Shard) touch(c *Conn) {
	if c.tail == 0 && c.pending == 0 {
		c.out = c.gc.OutboundBuffered()
	}
}

// hold keeps f for c in the hub, dropping the oldest held frames beyond the
// cap. Event loop only.
func (s *Shard) hold(c *Conn, f *codec.Frame) {
	q := s.held[c]
	if q == nil {
		q = &heldQueue{}
		s.held[c] = q
		c.congested = true
	}
	f.Retain(1)
	q.frames = append(q.frames, f)
	q.bytes += f.Len()
	for q.bytes > s.max && len(q.frames) > 0 {
		old := q.frames[0]
		q.bytes -= old.Len()
		old.Release()
		q.frames[0] = nil
		q.frames = q.frames[1:]
		s.hub.dropped.Add(1)
	}
}

// pump moves held frames of congested connections into their write chains
// as far as their sockets have taken what they had. It runs at every flush;
// the engine's periodic sweep makes sure there is one now and then, since
// gnet does not report when a socket's buffer drains. Event loop only.
func (s *Shard) pump() {
	for c, q := range s.held {
		if c.detached {
			s.dropHeld(c, q)
			continue
		}
		s.touch(c)
		for len(q.frames) > 0 && c.out+c.pending < s.max {
			f := q.frames[0]
			q.frames[0] = nil
			q.frames = q.frames[1:]
			q.bytes -= f.Len()
			b := s.place(f.Bytes())
			s.chain(c, b)
			c.pending += len(b)
			s.keep = append(s.keep, f) // released after the flush
		}
		if len(q.frames) == 0 {
			delete(s.held, c)
			c.congested = false
		}
	}
}

// dropHeld releases everything held for c.
func (s *Shard) dropHeld(c *Conn, q *heldQueue) {
	for _, f := range q.frames {
		f.Release()
	}
	delete(s.held, c)
	c.congested = false
}

// heldBytes returns the bytes held for c. Event loop only.
func (s *Shard) heldBytes(c *Conn) int {
	if !c.congested {
		return 0
	}
	return s.held[c].bytes
}

// closeSlow hands the connections that passed their cap under PolicyClose
// to Hub.OnSlow (or closes their sockets). Event loop only, after a flush.
func (s *Shard) closeSlow() {
	if len(s.slow) == 0 {
		return
	}
	slow := s.slow
	s.slow = nil
	for _, c := range slow {
		if c.detached {
			continue
		}
		s.hub.slowClosed.Add(1)
		if fn := s.hub.OnSlow; fn != nil {
			fn(c.self)
		} else {
			_ = s.loop.Close(c.gc)
		}
	}
}
