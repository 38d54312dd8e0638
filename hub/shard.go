package hub

import (
	"context"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/wshub/wshub/codec"
)

type opKind uint8

const (
	opSend      opKind = iota + 1 // f to c
	opBroadcast                   // f to every connection but c
	opPublish                     // f to every member of room but c
	opJoin                        // c joins room
	opLeave                       // c leaves room
	opLast                        // f to c, nothing after it; then run fn after the flush
	opFunc                        // run fn
)

// op is one unit of work for a shard. An op that carries a frame holds one
// reference to it, released after the shard's flush.
type op struct {
	kind opKind
	c    *Conn
	f    *codec.Frame
	room string
	fn   func()
	pre  func() bool // opLast: runs first on the loop; false cancels the op
}

// entry is one piece of a connection's write chain.
type entry struct {
	b    []byte
	next int32
}

// arenaCap is the initial size of a shard's arena, where the frames of one
// drain are laid out back to back so that a connection's consecutive frames
// leave in one contiguous write.
const (
	arenaCap     = 64 << 10
	arenaKeepMax = 4 << 20  // above this, an arena is dropped after its flush
	directMin    = 16 << 10 // frames this large are written from their own buffer
	iovMax       = 1024     // Linux IOV_MAX
)

// Shard is the part of the hub that belongs to one gnet event loop.
type Shard struct {
	hub  *Hub
	loop gnet.EventLoop
	run  gnet.Runnable

	// Local is a slot for the owner of the event loop (the engine) to keep
	// per-loop state in. Event loop only.
	Local any

	mu        sync.Mutex // guards inbox, spare and scheduled
	inbox     []op
	spare     []op
	scheduled bool

	// Event loop only.
	conns []*Conn
	rooms map[string]*room
	dirty []*Conn
	queue []entry
	arena []byte
	iov   [][]byte
	after []afterFlush
	max   int                  // the hub's backlog cap
	held  map[*Conn]*heldQueue // congested connections (PolicyDropOldest)
	keep  []*codec.Frame       // held frames written by this flush
	slow  []*Conn              // passed the cap under PolicyClose
}

// afterFlush is a function to run once c's queue has been written.
type afterFlush struct {
	c  *Conn
	fn func()
}

func newShard(h *Hub, loop gnet.EventLoop) *Shard {
	s := &Shard{hub: h, loop: loop, rooms: make(map[string]*room), max: h.maxBacklog(),
		held: make(map[*Conn]*heldQueue)}
	s.run = gnet.RunnableFunc(s.drain)
	return s
}

// Do runs fn on the shard's event loop, after the work already queued for it.
// Safe from any goroutine.
func (s *Shard) Do(fn func()) error { return s.enqueue(op{kind: opFunc, fn: fn}) }

// enqueue appends o to the inbox and makes sure a drain is coming.
func (s *Shard) enqueue(o op) error {
	s.mu.Lock()
	s.inbox = append(s.inbox, o)
	if s.scheduled {
		s.mu.Unlock()
		return nil
	}
	s.scheduled = true
	s.mu.Unlock()
	if d := s.hub.FlushInterval; d > 0 {
		time.AfterFunc(d, func() { _ = s.kick() })
		return nil
	}
	return s.kick()
}

// kick asks the loop to drain the inbox.
func (s *Shard) kick() error {
	if err := s.loop.Execute(context.Background(), s.run); err != nil {
		s.abandon()
		return ErrStopped
	}
	return nil
}

// abandon drops the inbox of a loop that no longer runs.
func (s *Shard) abandon() {
	s.mu.Lock()
	ops := s.inbox
	s.inbox, s.scheduled = nil, false
	s.mu.Unlock()
	releaseOps(ops)
}

func releaseOps(ops []op) {
	for i := range ops {
		if f := ops[i].f; f != nil {
			f.Release()
		}
		ops[i] = op{}
	}
}

// drain applies the inbox on the event loop and flushes.
func (s *Shard) drain(context.Context) error {
	s.mu.Lock()
	ops := s.inbox
	s.inbox, s.spare = s.spare[:0], nil
	s.scheduled = false
	s.mu.Unlock()

	for i := range ops {
		s.apply(&ops[i])
	}
	s.flush()
	releaseOps(ops)

	s.mu.Lock()
	s.spare = ops[:0]
	s.mu.Unlock()
	return nil
}

func (s *Shard) apply(o *op) {
	switch o.kind {
	case opSend:
		s.push(o.c, o.f)
	case opBroadcast:
		s.pushAll(s.conns, o.c, o.f)
	case opPublish:
		if r := s.rooms[o.room]; r != nil {
			s.pushAll(r.members, o.c, o.f)
		}
	case opJoin:
		s.join(o.c, o.room)
	case opLeave:
		s.leave(o.c, o.room)
	case opLast:
		if o.c.sealed || o.c.detached || o.pre != nil && !o.pre() {
			return
		}
		if o.f != nil {
			s.push(o.c, o.f)
		}
		o.c.sealed = true
		if o.fn != nil {
			s.after = append(s.after, afterFlush{o.c, o.fn})
		}
	case opFunc:
		o.fn()
	}
}
