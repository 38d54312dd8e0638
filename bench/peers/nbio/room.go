package main

import (
	"net/http"
	"sync"

	"github.com/lesismal/nbio/nbhttp/websocket"
)

// rooms keeps each room's members. The HTTP handler adds a connection,
// OnClose removes it, OnMessage reads the members; they may run on
// different goroutines.
type rooms struct {
	mu      sync.RWMutex
	members map[string]map[*websocket.Conn]struct{}
}

func newRooms() *rooms {
	return &rooms{members: make(map[string]map[*websocket.Conn]struct{})}
}

// upgrader broadcasts each message to the sender's room: one WriteMessage
// per member, which frames the message into one buffer and writes it to
// the member's non-blocking connection (nbio keeps what the socket does not
// take and flushes it when writable).
func (rs *rooms) upgrader() *websocket.Upgrader {
	u := websocket.NewUpgrader()
	u.OnMessage(func(c *websocket.Conn, mt websocket.MessageType, data []byte) {
		room, _ := c.Session().(string)
		rs.mu.RLock()
		defer rs.mu.RUnlock()
		for member := range rs.members[room] {
			_ = member.WriteMessage(mt, data)
		}
	})
	u.OnClose(func(c *websocket.Conn, err error) {
		room, _ := c.Session().(string)
		rs.leave(room, c)
	})
	return u
}

// serveWs upgrades and joins the room. nbio runs a connection's HTTP
// handler and its later message callbacks in order on one queue, so the
// connection is a member before its first message is handled.
func (rs *rooms) serveWs(u *websocket.Upgrader) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		room := r.URL.Query().Get("room")
		if room == "" {
			room = "lobby"
		}
		c, err := u.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c.SetSession(room)
		rs.join(room, c)
	}
}

func (rs *rooms) join(room string, c *websocket.Conn) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	m, ok := rs.members[room]
	if !ok {
		m = make(map[*websocket.Conn]struct{})
		rs.members[room] = m
	}
	m[c] = struct{}{}
}

func (rs *rooms) leave(room string, c *websocket.Conn) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	delete(rs.members[room], c)
	if len(rs.members[room]) == 0 {
		delete(rs.members, room)
	}
}
