package hub

import (
	"unsafe"

	"github.com/wshub/wshub/codec"
	"github.com/wshub/wshub/internal/ratelog"
)

// Sizes of the write path.
const (
	arenaCap     = 64 << 10 // initial arena: the small frames of one flush, back to back
	arenaKeepMax = 4 << 20  // above this, an arena is dropped after its flush
	directMin    = 16 << 10 // frames this large are written from their own buffer
	iovMax       = 1024     // Linux IOV_MAX
)

// entry is one piece of a connection's write chain.
type entry struct {
	b    []byte
	next int32
}

// outbound is a shard's write path: the frames of one flush, laid out so
// that each connection's consecutive frames leave in one contiguous write.
// Event loop only.
type outbound struct {
	max    int                  // the hub's backlog cap
	dirty  []*Conn              // connections with a chain in this flush
	queue  []entry              // the chains
	arena  []byte               // small frames of this flush, back to back
	zarena []byte               // small compressed frames, apart, so that a compressed connection's frames still meet
	iov    [][]byte             // writev scratch
	held   map[*Conn]*heldQueue // congested connections (PolicyDropOldest)
	costs  map[*Conn]*costQueue // connections whose socket holds something (cost.go)
	model  CostModel            // Config.BufferCost
	slack  int                  // BufferSlack: the most a socket's ring costs beyond its pieces
	// The buffer budget's books (budget.go): what costs' entries cost
	// (booked), the partial input reported with Inbound, and the shard's
	// total as last added to the hub's.
	costTotal int
	inbound   map[*Conn]int
	inTotal   int
	published int
	shedLog   ratelog.Limiter // budget sheds: a line a second at most
	keep      []*codec.Frame  // held frames written by this flush
	slow      []*Conn         // passed the cap under PolicyClose
}

func (o *outbound) init(max int, model CostModel, slack int) {
	o.max, o.model, o.slack = max, model, slack
	o.held = make(map[*Conn]*heldQueue)
	o.costs = make(map[*Conn]*costQueue)
	o.inbound = make(map[*Conn]int)
}

// place returns b as it will be written: small frames are copied to the end
// of the arena, so that consecutive frames for one connection are contiguous
// and leave in one write; large ones are written from their own buffer (the
// job that carries them keeps it alive until the flush).
func (o *outbound) place(b []byte) []byte { return placeIn(&o.arena, b) }

func placeIn(arena *[]byte, b []byte) []byte {
	if len(b) >= directMin {
		return b
	}
	if *arena == nil {
		*arena = make([]byte, 0, arenaCap)
	}
	start := len(*arena)
	*arena = append(*arena, b...)
	return (*arena)[start:len(*arena):cap(*arena)]
}

// accepts reports whether c takes frames: attached, not sealed by its
// close frame, not being closed as a slow consumer.
func accepts(c *Conn) bool {
	return !c.sealed && !c.slow && c.id != 0 && c.State() != StateGone
}

// push queues f for c. Event loop only.
func (s *Shard) push(c *Conn, f *codec.Frame) {
	if accepts(c) {
		e := newEncodings()
		p := s.encode(&e, c, f)
		s.offer(c, p.f, p.b, p.cost)
	}
}

// pushAll queues f for every connection in list but except, each encoding
// of it (plain, compressed) built and placed at most once, and only if a
// recipient takes it.
func (s *Shard) pushAll(list []*Conn, except *Conn, f *codec.Frame) {
	e := newEncodings()
	for _, c := range list {
		if c != except && accepts(c) {
			p := s.encode(&e, c, f)
			s.offer(c, p.f, p.b, p.cost)
		}
	}
}

// placed is one encoding of a message as this flush writes it.
type placed struct {
	f    *codec.Frame
	b    []byte
	cost int // what b costs as a piece of its own
}

// encodings are the encodings of one message placed so far.
type encodings struct {
	plain, z placed
	tried    bool // z was asked for (its f is nil if compression does not pay)
	size     int  // the payload's size; -1 until a compressed recipient asks
}

func newEncodings() encodings { return encodings{size: -1} }

// encode returns the encoding of f for c: compressed for a connection that
// negotiated permessage-deflate, if compressing pays and the message fits
// the window the client allows; plain otherwise.
func (s *Shard) encode(e *encodings, c *Conn, f *codec.Frame) *placed {
	if c.zbits != 0 {
		if e.size < 0 {
			e.size = len(f.Payload())
		}
		if c.zbits >= 15 || e.size <= 1<<c.zbits {
			if !e.tried {
				e.tried = true
				cfg := &s.hub.cfg
				if z := f.Deflated(cfg.CompressionLevel, cfg.CompressionMin); z != nil {
					b := placeIn(&s.out.zarena, z.Bytes())
					e.z = placed{f: z, b: b, cost: s.pieceCost(len(b))}
				}
			}
			if e.z.f != nil {
				return &e.z
			}
		}
	}
	if e.plain.f == nil {
		b := s.out.place(f.Bytes())
		e.plain = placed{f: f, b: b, cost: s.pieceCost(len(b))}
	}
	return &e.plain
}

// chainLast queues c's close frame, whatever its backlog: it is the last
// frame c gets, and at most 127 bytes. Frames held for c (PolicyDropOldest)
// were queued before it, so they go first, all of them: they are at most
// the cap, which is what that policy's bound of twice the cap allows for.
func (s *Shard) chainLast(c *Conn, f *codec.Frame) {
	if c.congested {
		s.pumpAll(c, s.out.held[c])
	}
	s.touch(c)
	s.chain(c, s.out.place(f.Bytes()))
}

// The chain's cost, for admission: c.pending is what the chain's closed
// pieces cost; the last piece stays open (frames may still merge into it)
// and is costed when it closes or when admission needs it exactly.

// admit chains b for c if the chain, with it, keeps c's backlog within the
// cap, or if c has nothing queued; cost is what b costs as a piece of its
// own. It reports whether b was chained. Event loop only.
func (s *Shard) admit(c *Conn, b []byte, cost int) bool {
	o := &s.out
	if c.tail == 0 {
		if c.out == 0 || c.out+cost <= o.max {
			s.appendPiece(c, b)
			return true
		}
		return false
	}
	t := &o.queue[c.tail-1]
	base := c.out + c.pending
	if adjacent(t.b, b) {
		// Merged, the last piece costs what its new length does. Most
		// frames are far from the cap: the model's bound settles it
		// without working the cost out.
		n := len(t.b) + len(b)
		if base+o.model.Bound(n) > o.max && base+o.model.Cost(n) > o.max {
			return false
		}
		t.b = t.b[:n]
		return true
	}
	closed := o.model.Cost(len(t.b)) // b starts a piece: the last one closes
	if base+closed+cost > o.max {
		return false
	}
	c.pending += closed
	s.appendPiece(c, b)
	return true
}

// queued is what c's chain costs, its open piece included.
func (s *Shard) queued(c *Conn) int {
	if c.tail == 0 {
		return c.pending
	}
	return c.pending + s.out.model.Cost(len(s.out.queue[c.tail-1].b))
}

// chain appends b to c's write chain whatever its backlog, merging it into
// the last piece when the two are adjacent in memory.
func (s *Shard) chain(c *Conn, b []byte) {
	o := &s.out
	if c.tail != 0 {
		t := &o.queue[c.tail-1]
		if adjacent(t.b, b) {
			t.b = t.b[:len(t.b)+len(b)]
			return
		}
		c.pending += o.model.Cost(len(t.b))
	}
	s.appendPiece(c, b)
}

// appendPiece starts a new piece of c's write chain with b; the last one,
// if any, has been costed into c.pending.
func (s *Shard) appendPiece(c *Conn, b []byte) {
	o := &s.out
	o.queue = append(o.queue, entry{b: b})
	idx := int32(len(o.queue))
	if c.tail == 0 {
		c.head = idx
		o.dirty = append(o.dirty, c)
	} else {
		o.queue[c.tail-1].next = idx
	}
	c.tail = idx
}

// adjacent reports whether b starts right where a ends, inside a's capacity.
func adjacent(a, b []byte) bool {
	if len(b) == 0 || cap(a)-len(a) < len(b) {
		return false
	}
	return unsafe.Pointer(unsafe.SliceData(a[len(a):cap(a)])) == unsafe.Pointer(unsafe.SliceData(b))
}

// flush writes every dirty connection's chain, then hands the connections
// that passed their cap under PolicyClose to their close. Event loop only.
func (s *Shard) flush() {
	o := &s.out
	if len(o.held) > 0 {
		s.pump()
	}
	for i, c := range o.dirty {
		if c.State() != StateGone {
			s.write(c)
		}
		c.head, c.tail, c.pending = 0, 0, 0
		o.dirty[i] = nil
	}
	for i, f := range o.keep {
		f.Release()
		o.keep[i] = nil
	}
	o.keep = o.keep[:0]
	o.dirty = o.dirty[:0]
	clear(o.queue)
	o.queue = o.queue[:0]
	o.arena = resetArena(o.arena)
	o.zarena = resetArena(o.zarena)
	s.closeSlow()
	s.checkBudget()
}

// resetArena empties an arena after its flush, dropping a large one.
func resetArena(a []byte) []byte {
	if cap(a) > arenaKeepMax {
		return nil
	}
	return a[:0]
}

// write hands c's chain to its socket: one write(2) for a single piece,
// writev(2) otherwise. The socket buffers whatever the kernel does not
// take. A failed write closes the socket (and makes c Gone) on the spot,
// so nothing more is written after it.
func (s *Shard) write(c *Conn) {
	o := &s.out
	sock := c.sock
	before := 0 // what the socket held: touch saw it, and settled the books to it
	if q := o.costs[c]; c.out > 0 && q != nil {
		before = q.bytes
	}
	if c.head == c.tail {
		_, _ = sock.Write(o.queue[c.head-1].b)
	} else {
		iov := o.iov[:0]
		for i := c.head; i != 0 && c.State() != StateGone; i = o.queue[i-1].next {
			iov = append(iov, o.queue[i-1].b)
			if len(iov) == iovMax {
				_, _ = sock.Writev(iov)
				iov = iov[:0]
			}
		}
		if len(iov) > 0 && c.State() != StateGone {
			_, _ = sock.Writev(iov)
		}
		clear(iov)
		o.iov = iov[:0]
	}
	if c.State() != StateGone {
		after := sock.Buffered()
		if after > 0 {
			s.kept(c, after-before)
		}
		c.backlog.Store(int64(after + s.heldBytes(c)))
	}
}

// detach takes c out of the shard: its slot, its rooms, its held frames.
// Its queued frames are dropped at their turn (c is Gone). Event loop only.
func (s *Shard) detach(c *Conn) {
	if c.congested {
		s.dropHeld(c, s.out.held[c])
	}
	for len(c.rooms) > 0 {
		s.leaveRoom(c, len(c.rooms)-1)
	}
	last := s.conns[len(s.conns)-1]
	s.conns[c.slot], last.slot = last, c.slot
	s.conns[len(s.conns)-1] = nil
	s.conns = s.conns[:len(s.conns)-1]
	c.backlog.Store(0)
}
