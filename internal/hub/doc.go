// Package hub is the core under package engine: each connection's
// lifecycle, the registry of open connections, rooms, and the outbound
// path that encodes a broadcast once and writes everything a connection
// gets in one step with one write(2). It drives event loops and sockets
// through two small interfaces (Loop, Socket), so its rules are tested on
// fakes without a network.
//
// # One lifecycle
//
// A connection's State (see its diagram) is kept here and nowhere else.
// The functions that change it are in lifecycle.go: Open, Attach, Finish,
// Close, PeerClosed, Fail and Gone. What an application may send is
// decided by one rule, admit, for every send path: text, binary, ping and
// pong, never a close frame, which only Close (and the server's own closes
// through Fail and PeerClosed) queue. The close frame seals the
// connection's queue: nothing queued after it is written, whichever call
// queued it.
//
// # Shape
//
// Connections are sharded by the event loop that owns their socket. Each
// Shard has an inbox (jobs guarded by Shard.mu) and, on the loop, its
// connections, rooms, timers and write queues. The loop's owner brackets
// every step it runs on the loop (each gnet callback) with Enter and
// Leave: jobs queued in the meantime, by that step's callbacks or by any
// other goroutine, wait in the inbox without waking the loop, and Leave
// applies them in order and flushes. A job queued while the loop is not in
// a step asks it, once per drain, to run a drain task (Loop.Execute). A
// flush writes each connection's chain with one write(2) or writev(2); a
// broadcast is one pooled codec.Frame placed once per shard and shared by
// every recipient. For connections that negotiated permessage-deflate
// (Conn.SetCompression) the frame's compressed form is used: built once
// per message by the first shard that needs it (codec.Frame.Deflated,
// which other loops wait on meanwhile), placed once per shard in an arena
// of its own, so that a compressed connection's frames stay contiguous.
//
// Per-loop deadlines (handshake, close, drain and linger timeouts) live on
// a timing wheel per shard (package wheel), ticked by the shard's own
// timer only while something is armed, frames are held or connections
// drain.
//
// # Bounded outbound
//
// A connection's backlog is what its socket has not taken yet plus what
// the current flush queued for it, counted at what it costs in memory
// (Config.BufferCost: the socket's buffers round up; see cost.go). A frame
// is queued while the backlog stays within Config.MaxBacklog (4 MiB by
// default) with it, or to a connection with nothing queued; past it,
// Config.Policy
// decides: fail the connection with 1008 (the close frame goes past the
// cap, TCP closes once it has been read or after CloseTimeout), drop the
// newest messages, or hold up to the cap more in the hub and drop the
// oldest. Idle connections hold no buffers: the arena, the write chains,
// the held queues and the cost books belong to the shard. Config.MaxBuffered
// bounds all connections together, partial input included (Inbound): past
// it each shard closes its largest holders at once (budget.go).
//
// # Thread rules
//
//   - Open, Attach, Finish, PeerClosed, Fail, Gone, Inbound, Shard.Enter
//     and Shard.Leave run on the connection's event loop, inside a step.
//   - Close, Send, SendTo, Broadcast, Publish, Join, Leave, Get, Range,
//     Len, Members, Rooms, RangeMembers, Stats, Buffered, Stop and the Conn getters
//     are safe from any goroutine, event-loop callbacks included. Their
//     effects apply on the loop in call order for any one shard.
//   - Locks: Shard.mu guards only the inbox and its flags; Shard.rmu guards
//     a shard's rooms against readers on other goroutines; each ID bucket
//     and room bucket has its own mutex. No lock is held while writing to a
//     socket or while running user code.
package hub
