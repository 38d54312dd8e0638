package hub

import (
	"unsafe"

	"github.com/wshub/wshub/codec"
)

// place returns b as it will be written: small frames are copied to the end
// of the arena, so that consecutive frames for one connection are contiguous
// and leave in one write; large ones are written from their own buffer (the
// op that carries them keeps it alive until the flush). Event loop only.
func (s *Shard) place(b []byte) []byte {
	if len(b) >= directMin {
		return b
	}
	if s.arena == nil {
		s.arena = make([]byte, 0, arenaCap)
	}
	start := len(s.arena)
	s.arena = append(s.arena, b...)
	return s.arena[start:len(s.arena):cap(s.arena)]
}

// push queues f for c. Event loop only.
func (s *Shard) push(c *Conn, f *codec.Frame) {
	if c.detached || c.sealed {
		return
	}
	s.offer(c, f, s.place(f.Bytes()))
}

// pushAll queues f, placed once, for every connection in list but except.
func (s *Shard) pushAll(list []*Conn, except *Conn, f *codec.Frame) {
	if len(list) == 0 {
		return
	}
	b := s.place(f.Bytes())
	for _, c := range list {
		if c != except && !c.detached && !c.sealed {
			s.offer(c, f, b)
		}
	}
}

// chain appends b to c's write chain, merging it into the last piece when
// the two are adjacent in memory.
func (s *Shard) chain(c *Conn, b []byte) {
	if c.tail != 0 {
		t := &s.queue[c.tail-1]
		if adjacent(t.b, b) {
			t.b = t.b[:len(t.b)+len(b)]
			return
		}
	}
	s.queue = append(s.queue, entry{b: b})
	idx := int32(len(s.queue))
	if c.tail == 0 {
		c.head = idx
		s.dirty = append(s.dirty, c)
	} else {
		s.queue[c.tail-1].next = idx
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

// flush writes every dirty connection's chain, then runs the functions that
// SendLast left for after it. Event loop only.
func (s *Shard) flush() {
	if len(s.held) > 0 {
		s.pump()
	}
	for i, c := range s.dirty {
		if !c.detached {
			s.write(c)
		}
		c.head, c.tail, c.pending = 0, 0, 0
		s.dirty[i] = nil
	}
	for i, f := range s.keep {
		f.Release()
		s.keep[i] = nil
	}
	s.keep = s.keep[:0]
	s.dirty = s.dirty[:0]
	clear(s.queue)
	s.queue = s.queue[:0]
	if cap(s.arena) > arenaKeepMax {
		s.arena = nil
	} else {
		s.arena = s.arena[:0]
	}
	s.runAfter()
	s.closeSlow()
}

// write hands c's chain to its socket: one write(2) for a single piece,
// writev(2) otherwise. gnet copies whatever the socket does not take. A
// failed write makes gnet close the socket (and Detach c) on the spot, so
// nothing more may be written after it.
func (s *Shard) write(c *Conn) {
	gc := c.gc
	if c.head == c.tail {
		_, _ = gc.Write(s.queue[c.head-1].b)
	} else {
		iov := s.iov[:0]
		for i := c.head; i != 0 && !c.detached; i = s.queue[i-1].next {
			iov = append(iov, s.queue[i-1].b)
			if len(iov) == iovMax {
				_, _ = gc.Writev(iov)
				iov = iov[:0]
			}
		}
		if len(iov) > 0 && !c.detached {
			_, _ = gc.Writev(iov)
		}
		clear(iov)
		s.iov = iov[:0]
	}
	if !c.detached {
		c.backlog.Store(int64(gc.OutboundBuffered() + s.heldBytes(c)))
	}
}

// runAfter runs the SendLast functions of connections still attached.
func (s *Shard) runAfter() {
	if len(s.after) == 0 {
		return
	}
	after := s.after
	s.after = nil
	for _, a := range after {
		if !a.c.detached {
			a.fn()
		}
	}
}
