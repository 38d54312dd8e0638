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
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
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
	// Join, if set, makes the server a node of a cluster before it
	// starts (cmd/wshub -nats joins it to NATS): it gets the server and
	// what the chat wants to hear from the cluster, and returns what the
	// chat publishes through. Without it the chat publishes through the
	// server: one node.
	Join func(srv *engine.Server, h Hooks) (Fanout, error)
	// Cluster, if set, is the "cluster" object of /stats: the node's
	// cluster state.
	Cluster func() any
}

// ErrTooLarge is what a Fanout wraps for a message too large to deliver
// (cluster.ErrTooLarge: past NATS's max_payload).
var ErrTooLarge = errors.New("demo: message too large to deliver")

// maxRoom is the longest room name the chat takes, in bytes: a long name
// travels in every cluster message of its room.
const maxRoom = 1024

// Hooks are the chat's side of a cluster node: cluster.Options'
// OnRoomMessage and OnSubscribed.
type Hooks struct {
	// RoomMessage takes every room message from another node.
	RoomMessage func(room string, op engine.OpCode, payload []byte)
	// Subscribed takes a room whose subscription NATS has confirmed.
	Subscribed func(room string)
	// Node takes another node heard from for the first time (up) or
	// forgotten (down): cluster.Options.OnNode.
	Node func(node uint16, up bool)
}

// Fanout is what the chat publishes through: the server itself, or a
// cluster node (cluster.Node), which also reaches the members and
// connections of the other nodes. A Publish error that wraps ErrTooLarge
// means the message reached nobody for its size: its sender is closed
// with 1009.
type Fanout interface {
	Publish(room string, op engine.OpCode, payload []byte) error
	SendTo(id uint64, op engine.OpCode, payload []byte) error
}

// NewServer builds the demo server with opts: the chat page, room chat,
// echo, and stats if cfg says so. Start it with Start or ListenAndServe.
// The error is Config.Join's.
func NewServer(cfg Config, opts ...engine.Option) (*engine.Server, error) {
	srv := engine.New(opts...)
	ch := &chat{srv: srv, out: srv, names: make(map[string]map[uint64]string)}
	if cfg.Join != nil {
		out, err := cfg.Join(srv, Hooks{RoomMessage: ch.remote, Subscribed: ch.subscribed, Node: ch.node})
		if err != nil {
			return nil, err
		}
		ch.out = out
	}
	srv.HandleHTTP("/", http.HandlerFunc(servePage))
	if cfg.Stats {
		srv.HandleHTTP("/stats", serveStats(srv, cfg.Cluster))
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
	return srv, nil
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
//
// In a cluster, names are kept by the node that holds the connection. A
// member's join and leave events go to the room's presence room on every
// node. The welcome lists the members of the joiner's node; every other
// node with members in the room answers the join with a "here" event, sent
// to the joiner by connection ID, listing all of its own ("node" says
// whose: a page replaces what it had of that node's members with the
// list). A node that had nobody in the room hears joins elsewhere only
// once NATS has its subscription to the presence room; so when that is
// confirmed (Hooks.Subscribed), and when another node is first heard from
// (Hooks.Node), it publishes a "sync" listing its members, which pages
// take like a "here", and which the other nodes answer with a "here"
// published to the room. Of two nodes whose first members join at once,
// the one confirmed last is heard by the other, so everyone ends up seeing
// everyone. A node that vanishes (no goodbye, three presence intervals) is
// forgotten with a "gone" event to the local pages, which drop its
// members. After NATS reconnects, Hooks.Subscribed comes again for every
// room, so every node syncs again: what NATS lost meanwhile is repaired,
// except a leave on a node that has nobody left in the room (it has no
// subscription, so it says nothing). Events carry connection IDs (as strings:
// they pass 2^53; the top 16 bits are the node), so that a member heard
// of twice is counted once.
//
// Clients cannot join the presence rooms (room names with NUL are
// refused), and a chat message that looks like a presence event is not
// relayed: only servers speak presence.
type chat struct {
	srv   *engine.Server
	out   Fanout
	mu    sync.Mutex                   // guards names
	names map[string]map[uint64]string // room -> conn ID -> name
}

// presence is the JSON of a presence event.
type presence struct {
	Type  string   `json:"type"`
	Event string   `json:"event"` // "welcome", "here", "sync", "join", "leave" or "gone"
	Room  string   `json:"room"`
	Node  string   `json:"node,omitempty"` // here, sync, gone: whose members
	Name  string   `json:"name,omitempty"`
	ID    string   `json:"id,omitempty"`    // join, leave: the member's connection
	Names []string `json:"names,omitempty"` // welcome, here, sync: members...
	IDs   []string `json:"ids,omitempty"`   // ...and their connections
}

func idString(id uint64) string { return strconv.FormatUint(id, 10) }

// presencePrefix starts the name of a room's presence room.
const presencePrefix = "presence\x00"

func presenceRoom(room string) string { return presencePrefix + room }

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
	case len(q.Get("room")) > maxRoom:
		_ = u.Refuse(http.StatusBadRequest, nil, "room name too long")
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
	// missed or counted twice. Sends and joins only queue work (in a
	// cluster, a publish may also write to the NATS socket when nats.go's
	// buffer is full), so holding the lock is cheap, and per event loop
	// they apply in call order.
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.names[m.room] == nil {
		ch.names[m.room] = make(map[uint64]string)
	}
	ch.names[m.room][c.ID()] = m.name
	welcome := ch.members(m.room, "welcome")
	welcome.Name = m.name
	_ = c.SendText(string(mustJSON(welcome)))
	join := presence{Type: "presence", Event: "join", Room: m.room, Name: m.name, ID: idString(c.ID())}
	_ = ch.out.Publish(presenceRoom(m.room), engine.OpText, mustJSON(join))
	_ = c.Join(presenceRoom(m.room))
}

// members is an event listing this node's members of room. ch.mu held.
func (ch *chat) members(room, event string) presence {
	p := presence{Type: "presence", Event: event, Room: room, Node: strconv.Itoa(int(ch.srv.NodeID()))}
	for id, n := range ch.names[room] {
		p.Names = append(p.Names, n)
		p.IDs = append(p.IDs, idString(id))
	}
	return p
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only strings in it
	}
	return b
}

func (ch *chat) message(c *engine.Conn, op engine.OpCode, p []byte) {
	m, ok := c.Value().(*member)
	if !ok || op == engine.OpText && spoofsPresence(p) {
		return
	}
	if err := ch.out.Publish(m.room, op, p); errors.Is(err, ErrTooLarge) {
		_ = c.Close(engine.StatusMessageTooBig, "message too large for the cluster")
	}
}

// spoofsPresence reports whether a client's text would pass for a
// presence event on the page: a JSON object whose "type" is "presence",
// read as JSON.parse reads it (keys exact, escapes decoded, the last of a
// repeated key wins), not as encoding/json's struct decoding does (keys
// in any case, errors for a repeated key of another type).
func spoofsPresence(p []byte) bool {
	if t := bytes.TrimLeft(p, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return false // the page reads only objects
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(p, &obj) != nil {
		return false // JSON.parse fails on it too
	}
	var typ string
	return json.Unmarshal(obj["type"], &typ) == nil && typ == "presence"
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
	leave := presence{Type: "presence", Event: "leave", Room: m.room, Name: m.name, ID: idString(c.ID())}
	_ = ch.out.Publish(presenceRoom(m.room), engine.OpText, mustJSON(leave))
}

// remote sees the room messages of other nodes (Config.Join): a member
// joining on another node is told who is here, and a node's sync is
// answered with this node's list to the whole room. ch.mu is held until
// the answer is handed to the cluster, so that it cannot overtake a leave
// of this node's (NATS keeps one connection's order).
func (ch *chat) remote(room string, _ engine.OpCode, payload []byte) {
	name, ok := strings.CutPrefix(room, presencePrefix)
	if !ok {
		return
	}
	var p presence
	if json.Unmarshal(payload, &p) != nil || p.Room != name || p.Event != "join" && p.Event != "sync" {
		return
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if len(ch.names[name]) == 0 {
		return
	}
	here := mustJSON(ch.members(name, "here"))
	if p.Event == "sync" {
		_ = ch.out.Publish(room, engine.OpText, here)
		return
	}
	if id, err := strconv.ParseUint(p.ID, 10, 64); err == nil {
		_ = ch.out.SendTo(id, engine.OpText, here)
	}
}

// subscribed hears that NATS has this node's subscription to a room
// (Config.Join): for a presence room, the node's members there are
// announced again, now that the answers can reach them.
func (ch *chat) subscribed(room string) {
	if name, ok := strings.CutPrefix(room, presencePrefix); ok {
		ch.sync(name)
	}
}

// sync publishes this node's members of room to the cluster.
func (ch *chat) sync(room string) {
	ch.mu.Lock() // see connect: in order with this node's joins and leaves
	defer ch.mu.Unlock()
	if len(ch.names[room]) == 0 {
		return
	}
	_ = ch.out.Publish(presenceRoom(room), engine.OpText, mustJSON(ch.members(room, "sync")))
}

// node hears of another node arriving or vanishing (Config.Join). One
// that arrives is told of this node's members (it may have missed their
// joins); one that vanished without its members' leaves has them dropped
// from this node's pages.
func (ch *chat) node(node uint16, up bool) {
	ch.mu.Lock()
	rooms := make([]string, 0, len(ch.names))
	for r := range ch.names {
		rooms = append(rooms, r)
	}
	ch.mu.Unlock()
	for _, r := range rooms {
		if up {
			ch.sync(r)
			continue
		}
		gone := presence{Type: "presence", Event: "gone", Room: r, Node: strconv.Itoa(int(node))}
		_ = ch.srv.Publish(presenceRoom(r), engine.OpText, mustJSON(gone)) // this node's pages only
	}
}
