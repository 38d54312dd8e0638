package hub

import (
	"hash/maphash"
	"sync"

	"github.com/gobwas/ws"
)

const roomBuckets = 64

var roomSeed = maphash.MakeSeed()

// roomBucket holds member counts of the rooms whose names hash to it.
type roomBucket struct {
	mu sync.Mutex
	m  map[string]int
}

// room is the part of a room that lives on one shard. Event loop only.
type room struct {
	name    string
	members []*Conn
}

func (h *Hub) roomBucket(name string) *roomBucket {
	return &h.rooms[maphash.String(roomSeed, name)%roomBuckets]
}

func (h *Hub) addMembers(name string, d int) {
	b := h.roomBucket(name)
	b.mu.Lock()
	if b.m == nil {
		b.m = make(map[string]int)
	}
	if n := b.m[name] + d; n > 0 {
		b.m[name] = n
	} else {
		delete(b.m, name)
	}
	b.mu.Unlock()
}

// Members returns the number of connections in room, as applied by the
// event loops so far. Safe from any goroutine.
func (h *Hub) Members(name string) int {
	b := h.roomBucket(name)
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[name]
}

// Join adds m to room; joining twice is a no-op. It takes effect on m's
// event loop, before anything sent after it. Safe from any goroutine.
func (h *Hub) Join(m Member, name string) error {
	return h.roomOp(opJoin, m, name)
}

// Leave removes m from room. Safe from any goroutine.
func (h *Hub) Leave(m Member, name string) error {
	return h.roomOp(opLeave, m, name)
}

func (h *Hub) roomOp(kind opKind, m Member, name string) error {
	c := m.hubConn()
	s := c.shard.Load()
	if s == nil {
		return ErrClosed
	}
	return s.enqueue(op{kind: kind, c: c, room: name})
}

// Publish sends one frame to every member of room, encoded once.
// Safe from any goroutine.
func (h *Hub) Publish(name string, op ws.OpCode, payload []byte) error {
	return h.fanOut(opPublish, name, nil, op, payload)
}

// PublishExcept is Publish to every member of room but except.
// Safe from any goroutine.
func (h *Hub) PublishExcept(name string, op ws.OpCode, payload []byte, except Member) error {
	return h.fanOut(opPublish, name, except, op, payload)
}

// join and leave run on the shard's loop.
func (s *Shard) join(c *Conn, name string) {
	if c.detached {
		return
	}
	r := s.rooms[name]
	if r == nil {
		r = &room{name: name}
		s.rooms[name] = r
	} else if _, ok := c.rooms[r]; ok {
		return
	}
	if c.rooms == nil {
		c.rooms = make(map[*room]int, 1)
	}
	c.rooms[r] = len(r.members)
	r.members = append(r.members, c)
	s.hub.addMembers(name, 1)
}

func (s *Shard) leave(c *Conn, name string) {
	if r := s.rooms[name]; r != nil {
		if _, ok := c.rooms[r]; ok {
			s.leaveRoom(c, r)
		}
	}
}

func (s *Shard) leaveRoom(c *Conn, r *room) {
	i := c.rooms[r]
	last := r.members[len(r.members)-1]
	r.members[i] = last
	last.rooms[r] = i
	r.members[len(r.members)-1] = nil
	r.members = r.members[:len(r.members)-1]
	delete(c.rooms, r)
	if len(r.members) == 0 {
		delete(s.rooms, r.name)
	}
	s.hub.addMembers(r.name, -1)
}
