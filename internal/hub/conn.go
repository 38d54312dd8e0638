package hub

import (
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/internal/wheel"
)

// lastID numbers connections; with the hub's Config.NodeID in the top 16
// bits, IDs are unique within the process and across nodes with distinct
// node IDs.
var lastID atomic.Uint64

// idMask is the part of an ID that lastID numbers.
const idMask = 1<<48 - 1

// State is where a connection is in its life. There is one state per
// connection, kept here; every layer asks it, none keeps its own.
//
//	Handshake ──Attach──▶ Open ──Close──▶ Closing ──peer's close──▶ Gone
//	    │                  │                 │
//	    │ Finish           │ peer's close,   │ peer's close before ours
//	    │                  │ Fail            │ left, Fail
//	    ▼                  ▼                 ▼
//	 Draining ◀────────────┴─────────────────┘
//	    │ output written, write side shut
//	    ▼
//	  Linger ──peer's EOF or timeout──▶ Gone
//
// Any state ends in Gone when TCP closes (Hub.Gone); timeouts close TCP
// in Handshake, Closing, Draining and Linger.
type State uint32

const (
	// StateHandshake: the request head is being read; not in the registry.
	StateHandshake State = iota
	// StateOpen: messages flow both ways.
	StateOpen
	// StateClosing: the application (or the server's Stop) started the
	// closing handshake; our close frame is queued or sent and we wait for
	// the peer's. Input other than the peer's close is ignored.
	StateClosing
	// StateDraining: nothing more will be queued; once what is queued has
	// left (our close frame last, if any), the write side is shut.
	StateDraining
	// StateLinger: the write side is shut; input is read and dropped until
	// the peer closes.
	StateLinger
	// StateGone: TCP closed; the connection left the registry and its rooms.
	StateGone
)

var stateNames = [...]string{"handshake", "open", "closing", "draining", "linger", "gone"}

// String returns the state's name.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "invalid"
}

// Why tells how a connection ended: the close code of the closing
// handshake, or 1006 when TCP ended without one. Remote is true when the
// peer started the close (or dropped the connection).
type Why struct {
	Code   ws.StatusCode
	Reason string
	Remote bool
}

// Conn is the hub's part of one connection: its lifecycle, its place in
// the registry and in rooms, and its outbound queue. The owner (the
// engine's connection type) holds it by value and hands the hub a pointer.
type Conn struct {
	// The fields a fan-out reads for every recipient come first, in one
	// cache line: a broadcast to 5,000 connections visits each per frame.
	state     atomic.Uint32 // a State
	sealed    bool          // our close frame is queued: nothing may follow it (event loop only)
	slow      bool          // passed its backlog cap under PolicyClose: queue nothing more (event loop only)
	congested bool          // has frames held in shard.held, PolicyDropOldest (event loop only)
	draining  bool          // listed in shard.draining (event loop only)
	zbits     uint8         // permessage-deflate: the client's window for our messages (8-15); 0 = not negotiated (set before Attach)
	head      int32         // write chain in shard.queue, 1-based; 0 = empty (event loop only)
	tail      int32         // (event loop only)
	slot      int32         // index in shard.conns (event loop only; here, it fills what the line would pad)
	pending   int           // cost of the closed pieces of the current flush's chain (event loop only)
	out       int           // cost of the socket backlog when the current flush began with it (event loop only)
	id        uint64        // set by Attach
	sock      Socket

	shard   *Shard // set by Open, never changes
	owner   any
	backlog atomic.Int64 // bytes queued but not taken by the socket, as of the last flush

	rtt atomic.Int64 // the last ping's round trip, ns

	// Event loop only.
	live  liveness // keepalive clocks
	why   *Why
	timer wheel.Timer[*Conn] // the deadline of the current state
	rooms []membership       // joined rooms
}

// SetCompression marks c as having negotiated permessage-deflate, with
// windowBits the window its client allows the server's messages
// (codec.Deflate.ServerWindowBits): messages to it are sent compressed
// when that pays and they fit the window. Call before Attach, on the
// loop.
func (c *Conn) SetCompression(windowBits uint8) { c.zbits = windowBits }

// Compressed reports whether c negotiated permessage-deflate. Safe from
// any goroutine once Attach has run.
func (c *Conn) Compressed() bool { return c.zbits != 0 }

// ID returns the connection's process-unique ID (0 before Attach). Safe
// from any goroutine once Attach has run.
func (c *Conn) ID() uint64 { return c.id }

// Owner returns the value given to Open. Safe from any goroutine.
func (c *Conn) Owner() any { return c.owner }

// State returns the connection's state. Safe from any goroutine; off the
// loop it may be out of date by the time it is used.
func (c *Conn) State() State { return State(c.state.Load()) }

// Shard returns the shard of the connection's loop (nil before Open).
// Safe from any goroutine.
func (c *Conn) Shard() *Shard { return c.shard }

// Latency returns the round trip of the last ping answered (0 before the
// first pong). Safe from any goroutine.
func (c *Conn) Latency() time.Duration { return time.Duration(c.rtt.Load()) }

// Backlog returns the bytes queued for the connection that its socket has
// not taken yet, as of the last flush. Safe from any goroutine.
func (c *Conn) Backlog() int { return int(c.backlog.Load()) }

// set moves the connection to s. Event loop only: the only transition
// made from other goroutines is Open to Closing, by Close with a CAS.
func (c *Conn) set(s State) { c.state.Store(uint32(s)) }

// swap moves the connection from one of the states in from to s, and
// returns the state it left; it returns StateGone and does nothing when the
// connection is in none of them. Event loop only; the CAS keeps it right
// against a concurrent Close.
func (c *Conn) swap(s State, from ...State) State {
	for {
		cur := c.State()
		ok := false
		for _, f := range from {
			ok = ok || cur == f
		}
		if !ok {
			return StateGone
		}
		if c.state.CompareAndSwap(uint32(cur), uint32(s)) {
			return cur
		}
	}
}

// sendErr returns the error a send to the connection gets in its current
// state, or nil if it is open.
func (c *Conn) sendErr() error {
	switch c.State() {
	case StateOpen:
		return nil
	case StateGone:
		return ErrClosed
	}
	return ErrClosing
}
