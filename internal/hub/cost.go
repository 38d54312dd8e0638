package hub

import (
	"math"
	"math/bits"
)

// What a connection's backlog costs. The socket copies what the kernel does
// not take into buffers of its own, and those cost more than the bytes they
// hold: gnet keeps each piece it is handed in a buffer rounded up to a
// power of two (a 1,028-byte frame takes 2,048) plus a list node, and a
// buffer is freed only when all of it has been sent. The backlog cap is a
// memory bound, so admission compares the cap with this cost, not with the
// bytes: N connections at their cap hold at most N times the cap (plus one
// message each, and what gnet's ring may cost beyond its pieces, at most
// Config.BufferSlack; the buffer budget counts that too).
//
// The hub keeps, for each connection whose socket holds something, the
// pieces it handed the socket that the socket kept, oldest first, with
// their cost; a socket sends in order, so when it reports fewer bytes
// buffered the oldest pieces are the ones gone. Connections with nothing
// buffered have no entry, so idle ones pay nothing for it.

// costQueue is one backlogged connection's pieces. Event loop only.
type costQueue struct {
	recs  []costRec // oldest first; recs[0] may be partly sent
	bytes int       // sum of recs' bytes
	cost  int       // sum of recs' cost
}

// costRec is one piece the socket kept: its bytes not yet sent and what
// its buffer costs until the last of them is.
type costRec struct{ bytes, cost int }

// CostModel is what n bytes left in a socket as one piece cost: n, rounded
// up to a power of two if Pow2 (up to 2 GiB: larger ones are exact), plus
// Node for its bookkeeping. The zero model counts bytes. It is a value, not
// a function, so that a fan-out pays a few instructions per recipient for
// it, not a call.
type CostModel struct {
	Pow2 bool
	Node int
}

// Cost is what n bytes cost as one piece.
func (m CostModel) Cost(n int) int {
	if n <= 0 {
		return 0
	}
	if m.Pow2 && n <= math.MaxInt32 {
		n = 1 << bits.Len(uint(n-1))
	}
	return n + m.Node
}

// Bound is at least Cost(n), and cheaper to work out: a power of two
// rounds n up to less than twice n.
func (m CostModel) Bound(n int) int {
	if m.Pow2 {
		return 2*n + m.Node
	}
	return n + m.Node
}

// pieceCost is what n bytes left in the socket as one piece cost.
func (s *Shard) pieceCost(n int) int { return s.out.model.Cost(n) }

// backlogCost returns what c's socket backlog of buffered bytes costs, and
// forgets the pieces the socket has sent since it last looked. Event loop
// only.
func (s *Shard) backlogCost(c *Conn, buffered int) int {
	o := &s.out
	q := o.costs[c]
	if buffered == 0 {
		if q != nil {
			s.forgetCost(c)
		}
		return 0
	}
	if q == nil {
		q = &costQueue{}
		o.costs[c] = q
	}
	was := o.booked(q)
	q.settle(buffered, o.model)
	o.costTotal += o.booked(q) - was
	return q.cost
}

// booked is what the buffer budget counts for q: its pieces, and the slack
// of the socket's ring, which costs at most as much again as it holds.
func (o *outbound) booked(q *costQueue) int { return q.cost + min(o.slack, q.bytes) }

// forgetCost drops c's pieces from the books. Event loop only.
func (s *Shard) forgetCost(c *Conn) {
	o := &s.out
	if q := o.costs[c]; q != nil {
		o.costTotal -= o.booked(q)
		delete(o.costs, c)
	}
}

// settle makes q hold buffered bytes: the oldest pieces are dropped as the
// socket sent them, and bytes the hub did not hand the socket (written by
// the owner, such as the opening handshake's response) are a piece of
// their own.
func (q *costQueue) settle(buffered int, m CostModel) {
	sent := q.bytes - buffered
	for sent > 0 && len(q.recs) > 0 {
		r := &q.recs[0]
		if r.bytes > sent {
			r.bytes -= sent
			q.bytes -= sent
			break
		}
		sent -= r.bytes
		q.bytes -= r.bytes
		q.cost -= r.cost
		q.recs[0] = costRec{}
		q.recs = q.recs[1:]
	}
	if len(q.recs) == 0 {
		q.recs = nil // let the old array go
	}
	if buffered > q.bytes {
		q.add(buffered-q.bytes, m)
	}
}

// add records a piece of n bytes that the socket kept.
func (q *costQueue) add(n int, m CostModel) {
	c := m.Cost(n)
	q.recs = append(q.recs, costRec{bytes: n, cost: c})
	q.bytes += n
	q.cost += c
}

// kept records what a write left in c's socket: the last kept bytes of
// c's write chain (the socket sends in order, so what it kept is the tail).
// Event loop only.
func (s *Shard) kept(c *Conn, kept int) {
	if kept <= 0 {
		return
	}
	o := &s.out
	q := o.costs[c]
	if q == nil {
		q = &costQueue{}
		o.costs[c] = q
		s.armTick() // the books are kept current at each tick
	}
	was := o.booked(q)
	defer func() { o.costTotal += o.booked(q) - was }()
	skip := -kept
	for i := c.head; i != 0; i = o.queue[i-1].next {
		skip += len(o.queue[i-1].b)
	}
	for i := c.head; i != 0; i = o.queue[i-1].next {
		n := len(o.queue[i-1].b)
		if skip >= n {
			skip -= n
			continue
		}
		q.add(n-skip, o.model)
		skip = 0
	}
}
