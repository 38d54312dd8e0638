package cluster

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wshub/wshub/engine"
)

// Presence: every node publishes, every PresenceInterval, how many members
// each of its rooms has (a snapshot, in chunks of at most presenceChunk
// bytes, on PREFIX.presence, with the sender's interval). The others keep
// each node's latest complete snapshot, and drop it when it is older than
// presenceExpiry of the sender's intervals (a node that died) or when the
// node says it leaves (Close). So Members and AllRooms lag the truth by at
// most the sender's interval and a NATS delivery, and a node that vanishes
// stops counting after three of its intervals, at the observer's next
// tick.

const (
	presenceChunk  = 32 << 10
	presenceExpiry = 3
)

// snapshot is one node's room counts as last heard.
type snapshot struct {
	rooms    map[string]int
	at       time.Time
	interval time.Duration // the sender's
	instance uint64        // the sender's Node (a restart makes a new one)
	previous uint64        // the instance before, if it changed
}

// pending is a snapshot whose chunks are arriving.
type pending struct {
	seq      uint32
	instance uint64
	next     uint16
	interval time.Duration
	rooms    map[string]int
}

// presenceMsg layout: version, origin node (2), sequence (4), chunk index
// (2), last chunk (1), the sender's interval in ms (4), the sender's
// instance (8, random per Node: two nodes given one node ID tell each
// other apart by it), then (name length (2), name, count (4)) per room.
const presenceHeader = 22

// presenceVersion is presence's own format version (1 was shared with
// room messages, over two header layouts): nodes of another version
// ignore each other's snapshots rather than misread them.
const presenceVersion = 2

// Flags of a presence message's "last chunk" byte.
const (
	lastChunk   = 1
	leavingNode = 2 // the node leaves: forget it now
)

// announce publishes this node's snapshot; leaving publishes an empty one
// that tells the others to forget the node now.
func (n *Node) announce(leaving bool) {
	n.presSeq++
	var rooms []engine.Room
	if !leaving {
		for _, r := range n.Subscribed() {
			if k := n.srv.Members(r); k > 0 {
				rooms = append(rooms, engine.Room{Name: r, Members: k})
			}
		}
	}
	chunk := uint16(0)
	for {
		b := make([]byte, presenceHeader, presenceChunk)
		b[0] = presenceVersion
		binary.BigEndian.PutUint16(b[1:], n.id)
		binary.BigEndian.PutUint32(b[3:], n.presSeq)
		binary.BigEndian.PutUint16(b[7:], chunk)
		binary.BigEndian.PutUint32(b[10:], uint32(min(n.interval.Milliseconds(), 1<<31)))
		binary.BigEndian.PutUint64(b[14:], n.instance)
		for len(rooms) > 0 && len(b)+6+len(rooms[0].Name) <= presenceChunk || len(rooms) > 0 && len(b) == presenceHeader {
			r := rooms[0]
			rooms = rooms[1:]
			b = binary.BigEndian.AppendUint16(b, uint16(min(len(r.Name), 0xffff)))
			b = append(b, r.Name[:min(len(r.Name), 0xffff)]...)
			b = binary.BigEndian.AppendUint32(b, uint32(r.Members))
		}
		if len(rooms) == 0 {
			b[9] = lastChunk
			if leaving {
				b[9] |= leavingNode
			}
		}
		if err := n.nc.Publish(n.prefix+".presence", b); err != nil {
			n.log.Debug("cluster: presence not sent", "err", err)
			return
		}
		if len(rooms) == 0 {
			return
		}
		chunk++
	}
}

// hear takes a presence message from another node.
func (n *Node) hear(m *nats.Msg) {
	d := m.Data
	if len(d) < presenceHeader || d[0] != presenceVersion {
		return
	}
	node, seq, chunk, last := binary.BigEndian.Uint16(d[1:]), binary.BigEndian.Uint32(d[3:]), binary.BigEndian.Uint16(d[7:]), d[9]&lastChunk != 0
	if node == n.id {
		// Our own snapshot (NATS echoes it without NoEcho), or another
		// node with our ID: their messages and ours are dropped as each
		// other's own, so cross-node delivery between them is broken.
		if other := binary.BigEndian.Uint64(d[14:]); other != n.instance && chunk == 0 {
			if n.conflicts.Add(1) == 1 || other != n.conflicting {
				n.log.Error("cluster: another node has this node's ID; give every node its own (engine.WithNodeID)", "node", n.id)
			}
			n.conflicting = other
		}
		return
	}
	p := n.arriving[node]
	if chunk == 0 {
		iv := time.Duration(binary.BigEndian.Uint32(d[10:])) * time.Millisecond
		p = &pending{seq: seq, interval: max(iv, time.Millisecond), rooms: make(map[string]int), instance: binary.BigEndian.Uint64(d[14:])}
		n.arriving[node] = p
	} else if p == nil || p.seq != seq || p.next != chunk {
		delete(n.arriving, node) // a chunk went missing: wait for the next snapshot
		return
	}
	for b := d[presenceHeader:]; len(b) >= 2; {
		l := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+l+4 {
			return
		}
		if k := binary.BigEndian.Uint32(b[2+l:]); k > 0 && k <= 1<<31 {
			p.rooms[string(b[2:2+l])] = int(k)
		}
		b = b[2+l+4:]
	}
	p.next = chunk + 1
	if !last {
		return
	}
	delete(n.arriving, node)
	n.mu.Lock()
	prev, known := n.remote[node]
	leaving := d[9]&leavingNode != 0
	restarted := known && !leaving && prev.instance != p.instance
	twins := restarted && prev.previous == p.instance // back to the one before: two live nodes
	if leaving {
		delete(n.remote, node)
	} else {
		s := snapshot{rooms: p.rooms, at: time.Now(), interval: p.interval, instance: p.instance, previous: prev.previous}
		if restarted {
			s.previous = prev.instance
		}
		n.remote[node] = s
	}
	n.mu.Unlock()
	switch {
	case twins:
		if !n.twins[node] {
			if n.twins == nil {
				n.twins = make(map[uint16]bool)
			}
			n.twins[node] = true
			n.log.Error("cluster: two other nodes have one node ID; give every node its own (engine.WithNodeID)", "node", node)
		}
	case n.onNode == nil:
	case restarted: // the node's process was replaced within its expiry: what it had is gone
		n.onNode(node, false)
		n.onNode(node, true)
	case known == leaving:
		n.onNode(node, !leaving) // one that arrives, or one that leaves
	}
}

// expire forgets the snapshots of nodes not heard from in time.
func (n *Node) expire(now time.Time) {
	var gone []uint16
	n.mu.Lock()
	for node, s := range n.remote {
		if now.Sub(s.at) > presenceExpiry*s.interval {
			delete(n.remote, node)
			gone = append(gone, node)
		}
	}
	n.mu.Unlock()
	if n.onNode != nil {
		for _, node := range gone {
			n.onNode(node, false)
		}
	}
}

// Members returns the members of room across the cluster: this node's as
// they are, the others' as last heard (at most their PresenceInterval and
// a NATS delivery ago; a node not heard from for three of its intervals
// counts no more, at this node's next tick). Safe from any goroutine.
func (n *Node) Members(room string) int {
	k := n.srv.Members(room)
	n.mu.Lock()
	for _, s := range n.remote {
		k += s.rooms[room]
	}
	n.mu.Unlock()
	return k
}

// AllRooms returns the rooms of the cluster with their members, counted
// as Members counts them, sorted by name. Safe from any goroutine.
func (n *Node) AllRooms() []engine.Room {
	counts := make(map[string]int)
	for _, r := range n.srv.Rooms() {
		counts[r.Name] += r.Members
	}
	n.mu.Lock()
	for _, s := range n.remote {
		for r, k := range s.rooms {
			counts[r] += k
		}
	}
	n.mu.Unlock()
	out := make([]engine.Room, 0, len(counts))
	for r, k := range counts {
		out = append(out, engine.Room{Name: r, Members: k})
	}
	slices.SortFunc(out, func(a, b engine.Room) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}
