package hub

import (
	"cmp"
	"slices"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/codec"
)

// The buffer budget (Config.MaxBuffered) bounds what all connections
// together hold in buffers: what their sockets have not sent (at its cost,
// see cost.go) and what has arrived of messages not yet complete (reported
// by the owner with Inbound). Past it, connections are closed at once, the
// largest first, without a closing handshake: their buffers are what must
// go. Each loop sheds only from its own connections, and only while it
// holds more than its share of the budget (the budget over the loops that
// hold anything), so a loop of small connections does not pay for another
// loop's large ones.

// InboundMin is the least partial input worth reporting with Inbound:
// below it a connection is not worth shedding, and reporting it would cost
// every read a map update.
const InboundMin = 64 << 10

// Inbound reports what c holds of messages not yet complete, in bytes at
// their cost (0 once complete). Amounts under 64 KiB count as 0. A report
// that grows checks the budget at once: input alone may pass it, on a loop
// that has nothing to write. Event loop only.
func (h *Hub) Inbound(c *Conn, n int) {
	if h.cfg.MaxBuffered <= 0 {
		return
	}
	s := c.shard
	if n < InboundMin {
		n = 0
	}
	old := s.out.inbound[c]
	switch {
	case n == old:
		return
	case n == 0:
		delete(s.out.inbound, c)
	default:
		if old == 0 {
			s.armTick() // the books are published at each tick
		}
		s.out.inbound[c] = n
	}
	s.out.inTotal += n - old
	if n > old {
		s.checkBudget()
	}
}

// Buffered returns what the connections hold in buffers, as the budget
// counts it, as of each loop's last flush or tick. Safe from any goroutine.
func (h *Hub) Buffered() int64 { return h.buffered.Load() }

// publish adds the shard's change since it last published to the hub's
// total. Event loop only.
func (s *Shard) publish() {
	o := &s.out
	total := o.costTotal + o.inTotal
	if d := total - o.published; d != 0 {
		s.hub.buffered.Add(int64(d))
		o.published = total
		s.holds.Store(total > 0)
	}
}

// refresh settles every backlogged connection's cost with what its socket
// holds now: sockets send between flushes without telling the hub.
func (s *Shard) refresh() {
	for c := range s.out.costs {
		if c.State() == StateGone {
			s.forgetCost(c)
			continue
		}
		s.backlogCost(c, c.sock.Buffered())
	}
}

// candidate is a connection the budget may shed, with what it holds.
type candidate struct {
	c       *Conn
	out, in int
}

// checkBudget sheds connections while the hub is over its budget and this
// shard over its share. It runs after each flush and tick, and when a
// report of partial input grows. Event loop only.
func (s *Shard) checkBudget() {
	h := s.hub
	budget := h.cfg.MaxBuffered
	s.publish()
	if budget <= 0 || h.buffered.Load() <= int64(budget) {
		return
	}
	o := &s.out
	share := budget / h.holding()
	if o.costTotal+o.inTotal <= share {
		return // another loop holds more than its share: it sheds
	}
	s.refresh()
	s.publish()
	if h.buffered.Load() <= int64(budget) {
		return
	}
	cands := make([]candidate, 0, len(o.costs)+len(o.inbound))
	for c, q := range o.costs {
		cands = append(cands, candidate{c: c, out: o.booked(q), in: o.inbound[c]})
	}
	for c, n := range o.inbound {
		if o.costs[c] == nil {
			cands = append(cands, candidate{c: c, in: n})
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int { return cmp.Compare(b.out+b.in, a.out+a.in) })
	for _, cd := range cands {
		if h.buffered.Load() <= int64(budget) || o.costTotal+o.inTotal <= share {
			break
		}
		s.shed(cd)
	}
}

// dropBooks takes c off the budget's books, and publishes the change.
// Event loop only.
func (s *Shard) dropBooks(c *Conn) {
	o := &s.out
	s.forgetCost(c)
	if n := o.inbound[c]; n != 0 {
		delete(o.inbound, c)
		o.inTotal -= n
	}
	s.publish()
}

// holding returns how many shards hold anything in buffers, at least 1.
func (h *Hub) holding() int {
	n := 0
	for _, s := range h.list() {
		if s.holds.Load() {
			n++
		}
	}
	return max(n, 1)
}

// shed closes c at once for the budget and takes what it holds off the
// books: its socket's buffers go with the socket. Its close frame is sent
// only if nothing is ahead of it.
func (s *Shard) shed(cd candidate) {
	h, c, o := s.hub, cd.c, &s.out
	code, reason := ws.StatusPolicyViolation, "slow consumer: server buffer budget reached"
	if cd.in > cd.out {
		code, reason = ws.StatusMessageTooBig, "message too big for the server's buffer budget"
	}
	if c.why == nil {
		c.why = &Why{Code: code, Reason: reason}
	}
	c.slow = true // nothing more is queued for it
	if c.congested {
		s.dropHeld(c, o.held[c])
	}
	s.dropBooks(c)
	h.budgetShed.Add(1)
	if n, ok := o.shedLog.Allow(); ok {
		h.cfg.Logger.Warn("connection shed: server buffer budget reached", "id", c.id, "remote", c.sock.RemoteAddr(),
			"outbound", cd.out, "inbound", cd.in, "buffered", h.buffered.Load(), "budget", h.cfg.MaxBuffered,
			"suppressed", n)
	}
	if !c.sealed && c.sock.Buffered() == 0 {
		f := codec.NewCloseFrame(code, reason)
		_, _ = c.sock.Write(f.Bytes())
		f.Release()
	}
	c.sealed = true // nothing may follow, even before the socket goes
	s.closeNow(c)
}
