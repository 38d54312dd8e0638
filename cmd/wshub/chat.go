package main

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
)

//go:embed web/index.html
var indexHTML []byte

// newServer builds the demo server: the chat page, room chat and echo.
func newServer(opts ...engine.Option) *engine.Server {
	srv := engine.New(opts...)
	ch := &chat{srv: srv, names: make(map[string]map[uint64]string)}
	srv.HandleHTTP("/", http.HandlerFunc(servePage))
	srv.HandleHTTP("/stats", serveStats(srv))
	srv.Handle("/ws", engine.Handler{
		OnConnect:    ch.connect,
		OnMessage:    ch.message,
		OnDisconnect: ch.disconnect,
	})
	srv.Handle("/echo", engine.Handler{
		OnMessage: func(c *engine.Conn, op ws.OpCode, p []byte) { _ = c.Send(op, p) },
	})
	return srv
}

func servePage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(indexHTML)
}

// member is what the chat keeps with each connection.
type member struct {
	room string
	name string // set when the client asked for presence (?name=)
}

// chat relays every message to the sender's room, unchanged. Clients that
// connect with ?name= also get presence events (who is here, who joins and
// who leaves) as JSON text messages {"type":"presence",...}; load clients
// without a name see only the room's messages.
type chat struct {
	srv   *engine.Server
	mu    sync.Mutex                   // guards names
	names map[string]map[uint64]string // room -> conn ID -> name
}

// presence is the JSON of a presence event.
type presence struct {
	Type  string   `json:"type"`
	Event string   `json:"event"` // "welcome", "join" or "leave"
	Room  string   `json:"room"`
	Name  string   `json:"name,omitempty"`
	Names []string `json:"names,omitempty"` // welcome: everyone here
}

func presenceRoom(room string) string { return "presence\x00" + room }

func (ch *chat) connect(c *engine.Conn) {
	q := c.Query()
	m := &member{room: q.Get("room"), name: q.Get("name")}
	if m.room == "" {
		m.room = "lobby"
	}
	if strings.ContainsRune(m.room, 0) {
		// NUL separates the internal presence rooms from the chat rooms.
		_ = c.Close(ws.StatusPolicyViolation, "room name must not contain NUL")
		return
	}
	c.SetValue(m)
	h := ch.srv.Hub()
	_ = h.Join(c, m.room)
	if m.name == "" {
		return
	}
	// The snapshot, the join event and joining the presence room happen
	// under ch.mu, so that every other member either is in the snapshot and
	// gets our join, or joins after us and is announced to us: nobody is
	// missed or counted twice. Hub calls only queue work, so holding the
	// lock is cheap, and per shard they apply in call order.
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.names[m.room] == nil {
		ch.names[m.room] = make(map[uint64]string)
	}
	ch.names[m.room][c.ID()] = m.name
	names := make([]string, 0, len(ch.names[m.room]))
	for _, n := range ch.names[m.room] {
		names = append(names, n)
	}
	welcome, _ := json.Marshal(presence{Type: "presence", Event: "welcome", Room: m.room, Name: m.name, Names: names})
	_ = c.Send(ws.OpText, welcome)
	join, _ := json.Marshal(presence{Type: "presence", Event: "join", Room: m.room, Name: m.name})
	_ = h.Publish(presenceRoom(m.room), ws.OpText, join)
	_ = h.Join(c, presenceRoom(m.room))
}

func (ch *chat) message(c *engine.Conn, op ws.OpCode, p []byte) {
	if m, ok := c.Value().(*member); ok {
		_ = ch.srv.Hub().Publish(m.room, op, p)
	}
}

func (ch *chat) disconnect(c *engine.Conn, _ error) {
	m, ok := c.Value().(*member)
	if !ok || m.name == "" {
		return
	}
	ch.mu.Lock() // see connect
	defer ch.mu.Unlock()
	delete(ch.names[m.room], c.ID())
	if len(ch.names[m.room]) == 0 {
		delete(ch.names, m.room)
	}
	leave, _ := json.Marshal(presence{Type: "presence", Event: "leave", Room: m.room, Name: m.name})
	_ = ch.srv.Hub().Publish(presenceRoom(m.room), ws.OpText, leave)
}
