package main

import "net"

// eventQueue is the broadcaster's inbox size; readers block when it is
// full.
const eventQueue = 1024

type eventKind uint8

const (
	eventJoin eventKind = iota
	eventLeave
	eventSend
)

// event is one request to the broadcaster.
type event struct {
	kind  eventKind
	room  string
	nc    net.Conn
	frame []byte
}

// broadcaster is the server's single writer of room frames. It owns the
// rooms: joins, leaves and sends arrive on one channel, so a reader's join
// is seen before its first message and its leave after its last.
//
// A member whose socket buffer is full blocks the broadcaster, and so every
// room, until it drains: this reference trades that for the plainest
// possible write path.
type broadcaster struct {
	events chan event
	rooms  map[string][]net.Conn
}

func newBroadcaster() *broadcaster {
	return &broadcaster{events: make(chan event, eventQueue), rooms: make(map[string][]net.Conn)}
}

// join, leave and send are safe from any goroutine.
func (b *broadcaster) join(room string, nc net.Conn) {
	b.events <- event{kind: eventJoin, room: room, nc: nc}
}

func (b *broadcaster) leave(room string, nc net.Conn) {
	b.events <- event{kind: eventLeave, room: room, nc: nc}
}

// send queues frame, an encoded server frame that nobody changes after,
// for every member of room.
func (b *broadcaster) send(room string, frame []byte) {
	b.events <- event{kind: eventSend, room: room, frame: frame}
}

// run handles events forever; it is the only goroutine touching rooms.
func (b *broadcaster) run() {
	for ev := range b.events {
		switch ev.kind {
		case eventJoin:
			b.rooms[ev.room] = append(b.rooms[ev.room], ev.nc)
		case eventLeave:
			b.remove(ev.room, ev.nc)
		case eventSend:
			b.write(ev.room, ev.frame)
		}
	}
}

// write sends the same frame to each member with one conn.Write: one
// write(2) while the member's socket buffer has room (the runtime waits for
// writability and retries only on EAGAIN or a short write). Errors are
// left for the member's reader to find.
func (b *broadcaster) write(room string, frame []byte) {
	for _, nc := range b.rooms[room] {
		_, _ = nc.Write(frame)
	}
}

func (b *broadcaster) remove(room string, nc net.Conn) {
	members := b.rooms[room]
	for i, m := range members {
		if m == nc {
			last := len(members) - 1
			members[i] = members[last]
			members[last] = nil
			b.rooms[room] = members[:last]
			break
		}
	}
	if len(b.rooms[room]) == 0 {
		delete(b.rooms, room)
	}
}
