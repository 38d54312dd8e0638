package hub

import (
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
)

// lastID numbers connections; IDs are unique within the process.
var lastID atomic.Uint64

// Member is a value that embeds a hub.Conn (*Conn itself is one). The hub's
// methods take Members so that a server's own connection type can be passed
// as it is.
type Member interface{ hubConn() *Conn }

// Conn is the hub's part of one WebSocket connection. Embed it by value in the
// server's connection type and pass that to Attach.
type Conn struct {
	id    uint64
	gc    gnet.Conn
	self  Member
	shard atomic.Pointer[Shard]

	// backlog is the number of bytes accepted for this connection but not yet
	// written to its socket, as of the last flush.
	backlog atomic.Int64

	// Event loop only.
	head, tail int32        // write chain in shard.queue, 1-based; 0 = empty
	slot       int          // index in shard.conns
	rooms      []membership // joined rooms
	detached   bool         // Detach ran: drop everything addressed to it
	sealed     bool         // SendLast ran: drop every later frame
	slow       bool         // passed its backlog cap under PolicyClose
	congested  bool         // has frames held in shard.held (PolicyDropOldest)
	pending    int          // bytes chained in the current drain
	out        int          // socket backlog when the current drain began with it
}

func (c *Conn) hubConn() *Conn { return c }

// ID returns the connection's process-unique ID, assigned by Attach (0 before).
// Safe from any goroutine once the connection was handed over by the hub.
func (c *Conn) ID() uint64 { return c.id }

// Backlog returns the bytes queued for the connection that its socket has not
// taken yet, as of the last flush. Safe from any goroutine.
func (c *Conn) Backlog() int { return int(c.backlog.Load()) }

// SetSocket binds c to its gnet connection. Event loop only, before Attach.
func (c *Conn) SetSocket(gc gnet.Conn) { c.gc = gc }

// Socket returns the gnet connection given to SetSocket. Event loop only.
func (c *Conn) Socket() gnet.Conn { return c.gc }
