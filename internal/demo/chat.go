// Package demo is the server cmd/wshub runs: the chat page, room chat with
// presence, echo, and memory and connection counts for load tools. It is a
// package of its own so that the end-to-end tests (a module of their own,
// with a browser) run exactly what the command serves.
//
// Routes: "/" the chat page; "/ws?room=NAME" room chat (every message a
// client sends goes to every member of its room, itself included,
// unchanged; add "&name=NICK" to also get JSON presence events); "/echo"
// echo; "/sink" reads every message (inflated, validated) and sends
// nothing back but the protocol's own frames, for load tools that measure
// receiving; "/stats" memory and connection counts as JSON, when Config.Stats
// says so (it tells anyone who asks how loaded the server is).
//
// # Thread rules
//
// The handlers run on the server's event loops; the presence registry is
// guarded by its own mutex. NewServer is safe from any goroutine.
package demo

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/wshub/wshub/engine"
)

// Page is the chat page served at "/".
//
//go:embed web/index.html
var Page []byte

// Config says which optional parts the demo serves.
type Config struct {
	Stats bool // serve /stats
	// Compression is permessage-deflate on /ws, /echo and /sink.
	Compression engine.Compression
}

// NewServer builds the demo server with opts: the chat page, room chat,
// echo, and stats if cfg says so. Start it with Start or ListenAndServe.
func NewServer(cfg Config, opts ...engine.Option) *engine.Server {
	srv := engine.New(opts...)
	ch := &chat{srv: srv, names: make(map[string]map[uint64]string)}
	srv.HandleHTTP("/", http.HandlerFunc(servePage))
	if cfg.Stats {
		srv.HandleHTTP("/stats", serveStats(srv))
	}
	srv.Handle("/ws", engine.Handler{
		OnUpgrade:    checkRoom,
		OnConnect:    ch.connect,
		OnMessage:    ch.message,
		OnDisconnect: ch.disconnect,
		Compression:  cfg.Compression,
	})
	srv.Handle("/echo", engine.Handler{
		OnMessage:   func(c *engine.Conn, op engine.OpCode, p []byte) { _ = c.Send(op, p) },
		Compression: cfg.Compression,
	})
	srv.Handle("/sink", engine.Handler{Compression: cfg.Compression})
	return srv
}

func servePage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(Page)
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

// checkRoom refuses, before the upgrade, a room name the chat cannot use
// (the engine has refused malformed queries already), and hands the member
// it makes to the connection: the query is parsed once.
func checkRoom(u *engine.Upgrade) {
	q, err := url.ParseQuery(u.Request().RawQuery)
	switch {
	case err != nil:
		_ = u.Refuse(http.StatusBadRequest, nil, "malformed query")
	case strings.ContainsRune(q.Get("room"), 0):
		// NUL separates the internal presence rooms from the chat rooms.
		_ = u.Refuse(http.StatusBadRequest, nil, "room name must not contain NUL")
	default:
		m := &member{room: q.Get("room"), name: q.Get("name")}
		if m.room == "" {
			m.room = "lobby"
		}
		_ = u.Accept(engine.AcceptOptions{Value: m})
	}
}

func (ch *chat) connect(c *engine.Conn) {
	m, ok := c.Value().(*member) // from checkRoom
	if !ok {
		return
	}
	_ = c.Join(m.room)
	if m.name == "" {
		return
	}
	// The snapshot, the join event and joining the presence room happen
	// under ch.mu, so that every other member either is in the snapshot and
	// gets our join, or joins after us and is announced to us: nobody is
	// missed or counted twice. Sends and joins only queue work, so holding
	// the lock is cheap, and per event loop they apply in call order.
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
	_ = c.SendText(string(welcome))
	join, _ := json.Marshal(presence{Type: "presence", Event: "join", Room: m.room, Name: m.name})
	_ = ch.srv.Publish(presenceRoom(m.room), engine.OpText, join)
	_ = c.Join(presenceRoom(m.room))
}

func (ch *chat) message(c *engine.Conn, op engine.OpCode, p []byte) {
	if m, ok := c.Value().(*member); ok {
		_ = ch.srv.Publish(m.room, op, p)
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
	_ = ch.srv.Publish(presenceRoom(m.room), engine.OpText, leave)
}
