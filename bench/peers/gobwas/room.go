package main

import (
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// client is one room connection. mu serialises writes: room messages from
// any member's goroutine and control replies from this client's reader.
type client struct {
	conn net.Conn
	mu   sync.Mutex
}

// write sends one message under the lock; WriteServerMessage writes the
// header and the payload with two Write calls.
func (c *client) write(op ws.OpCode, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return wsutil.WriteServerMessage(c.conn, op, p)
}

// Write lets ReadClientData's control handler (pong, close reply) write
// under the same lock; it writes each control frame with one call.
func (c *client) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn.Write(p)
}

// rooms maps a room name to its members.
type rooms struct {
	mu      sync.RWMutex
	members map[string]map[*client]struct{}
}

func newRooms() *rooms {
	return &rooms{members: make(map[string]map[*client]struct{})}
}

func (rs *rooms) join(room string, c *client) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	m, ok := rs.members[room]
	if !ok {
		m = make(map[*client]struct{})
		rs.members[room] = m
	}
	m[c] = struct{}{}
}

func (rs *rooms) leave(room string, c *client) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	delete(rs.members[room], c)
	if len(rs.members[room]) == 0 {
		delete(rs.members, room)
	}
}

// broadcast writes the message to every member in turn, holding the read
// lock as it iterates; a member whose write fails is left to its own
// reader to notice.
func (rs *rooms) broadcast(room string, op ws.OpCode, p []byte) {
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	for m := range rs.members[room] {
		_ = m.write(op, p)
	}
}

// serveWs upgrades, joins the room, and reads in a goroutine per
// connection, as the README does.
func (rs *rooms) serveWs(w http.ResponseWriter, r *http.Request) {
	room := r.URL.Query().Get("room")
	if room == "" {
		room = "lobby"
	}
	conn, rd, err := upgrade(w, r)
	if err != nil {
		return
	}
	c := &client{conn: conn}
	rs.join(room, c)
	go func() {
		defer conn.Close()
		defer rs.leave(room, c)
		rw := struct {
			io.Reader
			io.Writer
		}{rd, c}
		for {
			msg, op, err := wsutil.ReadClientData(rw)
			if err != nil {
				return
			}
			rs.broadcast(room, op, msg)
		}
	}()
}
