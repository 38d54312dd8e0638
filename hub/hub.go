package hub

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/wshub/wshub/codec"
)

const idBuckets = 64

// Hub is the registry of attached connections and their outbound path.
// The zero value is ready to use; a Hub must not be copied after first use.
type Hub struct {
	// MaxBacklog caps the bytes queued for one connection that its socket
	// has not taken yet; Policy says what happens at the cap. A message is
	// queued while the backlog is under the cap, so the bound is the cap
	// plus one message. 0 means DefaultMaxBacklog (4 MiB), a negative value
	// no cap. Set before use.
	MaxBacklog int
	// Policy is the slow-client policy (default PolicyClose).
	Policy SlowPolicy
	// OnSlow runs on the event loop for a connection that passed the cap
	// under PolicyClose; it must close the connection (the engine fails it
	// with 1008). Nil closes the socket. Set before use.
	OnSlow func(m Member)
	// FlushInterval, if positive, holds each event loop's queued writes for
	// up to this long so that more of them share a write (e.g. a 16 ms game
	// tick). Zero writes at the end of the loop iteration. Set before use.
	FlushInterval time.Duration

	mu     sync.Mutex                // guards byLoop and writes to shards
	byLoop map[gnet.EventLoop]*Shard // guarded by mu
	shards atomic.Pointer[[]*Shard]  // copy-on-write list of all shards
	count  atomic.Int64              // attached connections
	ids    [idBuckets]idBucket       // ID -> Conn
	rooms  [roomBuckets]roomBucket   // room -> member count

	dropped    atomic.Int64 // messages dropped by the drop policies
	slowClosed atomic.Int64 // connections closed by PolicyClose
}

type idBucket struct {
	mu sync.RWMutex
	m  map[uint64]*Conn
}

// ShardFor returns the shard of an event loop, creating it on first use.
// Safe from any goroutine.
func (h *Hub) ShardFor(loop gnet.EventLoop) *Shard {
	for _, s := range h.Shards() {
		if s.loop == loop {
			return s
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.byLoop[loop]; s != nil {
		return s
	}
	if h.byLoop == nil {
		h.byLoop = make(map[gnet.EventLoop]*Shard)
	}
	s := newShard(h, loop)
	h.byLoop[loop] = s
	list := append(append([]*Shard(nil), h.Shards()...), s)
	h.shards.Store(&list)
	return s
}

// Shards returns the shards created so far. Safe from any goroutine; the
// slice must not be modified.
func (h *Hub) Shards() []*Shard {
	if p := h.shards.Load(); p != nil {
		return *p
	}
	return nil
}

// Attach registers m, whose socket was bound with SetSocket, and gives it an
// ID. It must run on the socket's event loop, once per connection.
func (h *Hub) Attach(m Member) {
	c := m.hubConn()
	s := h.ShardFor(c.gc.EventLoop())
	c.id = lastID.Add(1)
	c.self = m
	c.slot = len(s.conns)
	s.conns = append(s.conns, c)
	b := &h.ids[c.id%idBuckets]
	b.mu.Lock()
	if b.m == nil {
		b.m = make(map[uint64]*Conn)
	}
	b.m[c.id] = c
	b.mu.Unlock()
	c.shard.Store(s)
	h.count.Add(1)
}

// Detach unregisters m and makes it leave all its rooms; frames still queued
// for it are dropped. Event loop only; a second call does nothing.
func (h *Hub) Detach(m Member) {
	c := m.hubConn()
	s := c.shard.Load()
	if s == nil || c.detached {
		return
	}
	c.detached = true
	c.shard.Store(nil) // from now on the API answers ErrClosed
	if c.congested {
		s.dropHeld(c, s.held[c])
	}
	for len(c.rooms) > 0 {
		s.leaveRoom(c, len(c.rooms)-1)
	}
	last := s.conns[len(s.conns)-1]
	s.conns[c.slot], last.slot = last, c.slot
	s.conns[len(s.conns)-1] = nil
	s.conns = s.conns[:len(s.conns)-1]
	b := &h.ids[c.id%idBuckets]
	b.mu.Lock()
	delete(b.m, c.id)
	b.mu.Unlock()
	c.backlog.Store(0)
	h.count.Add(-1)
}

// Len returns the number of attached connections. Safe from any goroutine.
func (h *Hub) Len() int { return int(h.count.Load()) }

// Get returns the attached connection with the given ID. Safe from any goroutine.
func (h *Hub) Get(id uint64) (Member, bool) {
	b := &h.ids[id%idBuckets]
	b.mu.RLock()
	c := b.m[id]
	b.mu.RUnlock()
	if c == nil {
		return nil, false
	}
	return c.self, true
}

// Range calls fn for every attached connection until fn returns false. It
// sees a snapshot taken one bucket at a time: connections attached or
// detached meanwhile may or may not be visited. Safe from any goroutine;
// no lock is held while fn runs.
func (h *Hub) Range(fn func(Member) bool) {
	var batch []Member
	for i := range h.ids {
		b := &h.ids[i]
		batch = batch[:0]
		b.mu.RLock()
		for _, c := range b.m {
			batch = append(batch, c.self)
		}
		b.mu.RUnlock()
		for _, m := range batch {
			if !fn(m) {
				return
			}
		}
	}
}

// Send queues one frame with payload for m. Safe from any goroutine.
func (h *Hub) Send(m Member, op ws.OpCode, payload []byte) error {
	if !sendableOp(op, payload) {
		return ErrBadOpCode
	}
	return h.SendFrame(m, codec.NewFrame(op, payload))
}

// SendFrame queues f for m and takes over the caller's reference to f.
// Safe from any goroutine.
func (h *Hub) SendFrame(m Member, f *codec.Frame) error {
	c := m.hubConn()
	s := c.shard.Load()
	if s == nil {
		f.Release()
		return ErrClosed
	}
	return s.enqueue(op{kind: opSend, c: c, f: f})
}

// SendTo queues a frame for the connection with the given ID.
// Safe from any goroutine.
func (h *Hub) SendTo(id uint64, op ws.OpCode, payload []byte) error {
	m, ok := h.Get(id)
	if !ok {
		return ErrNotFound
	}
	return h.Send(m, op, payload)
}

// SendLast queues f (may be nil) as the last frame for m: frames queued
// after it are dropped. Once f has been handed to the socket, fn (may be
// nil) runs on m's event loop, unless m was detached meanwhile. It takes
// over the caller's reference to f. Safe from any goroutine.
func (h *Hub) SendLast(m Member, f *codec.Frame, fn func()) error {
	return h.SendLastIf(m, f, nil, fn)
}

// SendLastIf is SendLast with a condition: pre (may be nil) runs on m's
// event loop at the op's turn, in order with everything queued for m, and
// when it returns false nothing is sent and fn does not run.
func (h *Hub) SendLastIf(m Member, f *codec.Frame, pre func() bool, fn func()) error {
	c := m.hubConn()
	s := c.shard.Load()
	if s == nil {
		if f != nil {
			f.Release()
		}
		return ErrClosed
	}
	return s.enqueue(op{kind: opLast, c: c, f: f, pre: pre, fn: fn})
}

// Do runs fn on m's event loop after everything queued for it so far.
// Safe from any goroutine.
func (h *Hub) Do(m Member, fn func()) error {
	s := m.hubConn().shard.Load()
	if s == nil {
		return ErrClosed
	}
	return s.Do(fn)
}

// Broadcast sends one frame to every attached connection. The frame is
// encoded once and shared by all event loops. Safe from any goroutine.
func (h *Hub) Broadcast(op ws.OpCode, payload []byte) error {
	return h.fanOut(opBroadcast, "", nil, op, payload)
}

// BroadcastExcept is Broadcast to all connections but except.
// Safe from any goroutine.
func (h *Hub) BroadcastExcept(op ws.OpCode, payload []byte, except Member) error {
	return h.fanOut(opBroadcast, "", except, op, payload)
}

// fanOut encodes one frame and hands one reference of it to every shard.
func (h *Hub) fanOut(kind opKind, room string, except Member, op ws.OpCode, payload []byte) error {
	if !sendableOp(op, payload) {
		return ErrBadOpCode
	}
	shards := h.Shards()
	if len(shards) == 0 {
		return nil
	}
	var ex *Conn
	if except != nil {
		ex = except.hubConn()
	}
	f := codec.NewFrame(op, payload)
	f.Retain(int32(len(shards) - 1))
	var err error
	for _, s := range shards {
		if e := s.enqueue(opOf(kind, ex, f, room)); e != nil && err == nil {
			err = e
		}
	}
	return err
}

func opOf(kind opKind, c *Conn, f *codec.Frame, room string) op {
	return op{kind: kind, c: c, f: f, room: room}
}

// sendableOp reports whether a frame with op and payload may be built: a
// text or binary message, or a control frame within the RFC's 125 bytes.
func sendableOp(op ws.OpCode, payload []byte) bool {
	switch op {
	case ws.OpText, ws.OpBinary:
		return true
	case ws.OpPing, ws.OpPong, ws.OpClose:
		return len(payload) <= 125
	}
	return false
}
