package hub

import (
	"cmp"
	"hash/maphash"
	"slices"
	"sync"

	"github.com/gobwas/ws"
)

const roomBuckets = 64

var roomSeed = maphash.MakeSeed()

// roomBucket holds the member counts of the rooms whose names hash to it.
type roomBucket struct {
	mu sync.Mutex
	m  map[string]int
}

// room is the part of a room that lives on one shard.
type room struct {
	name    string
	members []*Conn
}

// membership is one room a connection is in, and its index in the room's
// member list on its shard. A connection keeps these in a slice: it is in
// few rooms, and a slice costs a fraction of a map in every connection.
type membership struct {
	r *room
	i int
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
	before := b.m[name]
	if n := before + d; n > 0 {
		b.m[name] = n
	} else {
		delete(b.m, name)
	}
	b.mu.Unlock()
	if f := h.cfg.OnRoomInterest; f != nil && (before == 0) != (before+d <= 0) {
		f(name)
	}
}

// Members returns the number of connections in room, as applied by the
// loops so far. Safe from any goroutine.
func (h *Hub) Members(name string) int {
	b := h.roomBucket(name)
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[name]
}

// RoomInfo is a room and its member count.
type RoomInfo struct {
	Name    string
	Members int
}

// Rooms returns every room that has members, with its member count, sorted
// by name. It is a snapshot taken one bucket of rooms at a time. Safe from
// any goroutine.
func (h *Hub) Rooms() []RoomInfo {
	var out []RoomInfo
	for i := range h.rooms {
		b := &h.rooms[i]
		b.mu.Lock()
		for name, n := range b.m {
			out = append(out, RoomInfo{Name: name, Members: n})
		}
		b.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b RoomInfo) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// RangeMembers calls fn for every member of room until fn returns false.
// It sees a snapshot taken one loop at a time: connections joining or
// leaving meanwhile may or may not be visited. Safe from any goroutine; no
// lock is held while fn runs.
func (h *Hub) RangeMembers(name string, fn func(*Conn) bool) {
	var batch []*Conn
	for _, s := range h.list() {
		s.rmu.RLock()
		if r := s.rooms[name]; r != nil {
			batch = append(batch, r.members...)
		}
		s.rmu.RUnlock()
		for _, c := range batch {
			if c.State() != StateGone && !fn(c) {
				return
			}
		}
		clear(batch)
		batch = batch[:0]
	}
}

// Join adds c to room; joining twice is a no-op. It takes effect on c's
// loop, before anything sent after it. Safe from any goroutine.
func (h *Hub) Join(c *Conn, name string) error {
	if err := c.sendErr(); err != nil {
		return err
	}
	return c.shard.enqueue(job{kind: opJoin, c: c, room: name})
}

// Leave removes c from room. Safe from any goroutine.
func (h *Hub) Leave(c *Conn, name string) error {
	if c.State() == StateGone {
		return ErrClosed
	}
	return c.shard.enqueue(job{kind: opLeave, c: c, room: name})
}

// Publish sends one message to every member of room but except (may be
// nil), encoded once. Safe from any goroutine.
func (h *Hub) Publish(name string, op ws.OpCode, payload []byte, except *Conn) error {
	return h.fanOut(opPublish, name, except, op, payload)
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

// join and leave1 run on the shard's loop.
func (s *Shard) join(c *Conn, name string) {
	if c.State() == StateGone {
		return
	}
	r := s.rooms[name]
	if r != nil && c.roomIndex(r) >= 0 {
		return
	}
	s.rmu.Lock()
	if r == nil {
		r = &room{name: name}
		s.rooms[name] = r
	}
	c.rooms = append(c.rooms, membership{r: r, i: len(r.members)})
	r.members = append(r.members, c)
	s.rmu.Unlock()
	s.hub.addMembers(name, 1)
}

func (s *Shard) leave1(c *Conn, name string) {
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
	s.rmu.Lock()
	last := r.members[len(r.members)-1]
	r.members[i] = last
	last.rooms[last.roomIndex(r)].i = i
	r.members[len(r.members)-1] = nil
	r.members = r.members[:len(r.members)-1]
	if len(r.members) == 0 {
		delete(s.rooms, r.name)
	}
	s.rmu.Unlock()
	c.rooms[k] = c.rooms[len(c.rooms)-1]
	c.rooms[len(c.rooms)-1] = membership{}
	c.rooms = c.rooms[:len(c.rooms)-1]
	if len(c.rooms) == 0 {
		c.rooms = nil
	}
	s.hub.addMembers(r.name, -1)
}
