package main

import (
	"net/http"
	"sync"

	"github.com/lxzan/gws"
)

// roomKey is the session key holding a connection's room name.
const roomKey = "room"

// newRoomUpgrader stores the room in the session from Authorize, as the
// chatroom example stores its user name; pd is the compression of every
// route. ParallelEnabled stays false, as in the chatroom example: Broadcast
// only queues the frame on each member's write queue, so OnMessage never
// blocks the reader, and parallel OnMessage calls would reorder one
// sender's messages.
func newRoomUpgrader(pd gws.PermessageDeflate) *gws.Upgrader {
	return gws.NewUpgrader(newRoomHandler(), &gws.ServerOption{
		ParallelEnabled:   false,
		PermessageDeflate: pd,
		Authorize: func(r *http.Request, session gws.SessionStorage) bool {
			room := r.URL.Query().Get("room")
			if room == "" {
				room = "lobby"
			}
			session.Store(roomKey, room)
			return true
		},
	})
}

// roomHandler keeps each room's members. OnOpen and OnClose change them;
// OnMessage reads them. Each gws callback may run on any goroutine.
type roomHandler struct {
	pongHandler
	mu    sync.RWMutex
	rooms map[string]map[*gws.Conn]struct{}
}

func newRoomHandler() *roomHandler {
	return &roomHandler{rooms: make(map[string]map[*gws.Conn]struct{})}
}

func roomOf(socket *gws.Conn) string {
	v, _ := socket.Session().Load(roomKey)
	room, _ := v.(string)
	return room
}

func (h *roomHandler) OnOpen(socket *gws.Conn) {
	room := roomOf(socket)
	h.mu.Lock()
	defer h.mu.Unlock()
	members, ok := h.rooms[room]
	if !ok {
		members = make(map[*gws.Conn]struct{})
		h.rooms[room] = members
	}
	members[socket] = struct{}{}
}

func (h *roomHandler) OnClose(socket *gws.Conn, err error) {
	room := roomOf(socket)
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.rooms[room], socket)
	if len(h.rooms[room]) == 0 {
		delete(h.rooms, room)
	}
}

// OnMessage is the README's Broadcast recipe: one Broadcaster frames the
// message once, Broadcast queues that frame on each member, Close releases
// it after the last write.
func (h *roomHandler) OnMessage(socket *gws.Conn, message *gws.Message) {
	defer message.Close()
	b := gws.NewBroadcaster(message.Opcode, message.Bytes())
	defer b.Close()
	h.mu.RLock()
	defer h.mu.RUnlock()
	for member := range h.rooms[roomOf(socket)] {
		_ = b.Broadcast(member)
	}
}
