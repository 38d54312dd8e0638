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

// membership is one room a connection is in, and its index in the room's
// member list. A connection keeps these in a slice: it is in few rooms, and
// a slice costs a fraction of a map's memory in every idle connection.
type membership struct {
	r *room
	i int
}

// roomIndex returns the position of r in c.rooms, or -1.
func (c *Conn) roomIndex(r *room) int {
	for k := range c.rooms {
		if c.rooms[k].r == r {
			return k
		}
	}
	return -1
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
	} else if c.roomIndex(r) >= 0 {
		return
	}
	c.rooms = append(c.rooms, membership{r: r, i: len(r.members)})
	r.members = append(r.members, c)
	s.hub.addMembers(name, 1)
}

func (s *Shard) leave(c *Conn, name string) {
	if r := s.rooms[name]; r != nil {
		if k := c.roomIndex(r); k >= 0 {
			s.leaveRoom(c, k)
		}
	}
}

// leaveRoom removes c from its k-th room.
func (s *Shard) leaveRoom(c *Conn, k int) {
	m := c.rooms[k]
	r, i := m.r, m.i
	last := r.members[len(r.members)-1]
	r.members[i] = last
	last.rooms[last.roomIndex(r)].i = i
	r.members[len(r.members)-1] = nil
	r.members = r.members[:len(r.members)-1]
	c.rooms[k] = c.rooms[len(c.rooms)-1]
	c.rooms[len(c.rooms)-1] = membership{}
	c.rooms = c.rooms[:len(c.rooms)-1]
	if len(c.rooms) == 0 {
		c.rooms = nil
	}
	if len(r.members) == 0 {
		delete(s.rooms, r.name)
	}
	s.hub.addMembers(r.name, -1)
}
