// Package hub keeps the registry of open WebSocket connections and carries
// every outbound frame to them: targeted sends, broadcasts and room
// publishes.
//
// # Shape
//
// Connections are sharded by the gnet event loop that owns their socket. Each
// Shard has an inbox (a slice guarded by Shard.mu) and, on the loop, the
// shard's connection list, its rooms and a write queue. Any goroutine that
// wants something written appends one op to the inbox of each shard
// concerned and, if none is pending, asks the loop to drain it with one
// gnet EventLoop.Execute. The drain runs on the loop after the iteration's
// I/O events: it applies every op in order, queues frames per connection and
// then writes each connection's queue with one write(2) (or writev(2)). A
// broadcast is encoded once into one pooled codec.Frame; every shard holds one
// reference and releases it after its flush, so no recipient costs a copy or
// an allocation.
//
// # Bounded outbound
//
// A connection's backlog is what its socket has not taken yet (gnet's
// outbound buffer) plus what the current drain queued for it. A frame is
// queued while the backlog is under Hub.MaxBacklog (4 MiB by default); past
// it, Hub.Policy decides: close the connection (PolicyClose, the engine
// fails it with 1008), drop the newest messages, or hold up to the cap more
// in the hub and drop the oldest of those. Drops and slow closes are
// counted (Stats). Idle connections hold no buffers: the arena, the write
// chains and the held queues belong to the shard, and exist for a
// connection only while it has something to send.
//
// Hub.FlushInterval, if set, delays each drain by up to that long, so that
// a game tick's sends to one connection share one write.
//
// # Thread rules
//
//   - Attach, Detach and the methods documented "event loop only" run on the
//     connection's event loop (inside gnet callbacks or ops the hub runs).
//   - Send, SendFrame, SendLast, SendLastIf, SendTo, Broadcast,
//     BroadcastExcept, Join, Leave, Publish, PublishExcept, Do, Len,
//     Members, Get, Range, Stats and Conn.Backlog are safe from any
//     goroutine, including event-loop callbacks. Their effects are applied
//     on the loop in the order the calls were made for any one shard.
//   - Locks: Shard.mu guards only the shard inbox; each ID bucket's mutex
//     guards its ID map; each room bucket's mutex guards that bucket's room
//     member counts. No lock is held while writing to a socket or while
//     running user code.
//
// The zero Hub is ready to use; its exported fields (MaxBacklog, Policy,
// OnSlow, FlushInterval) are set before the first connection attaches.
package hub
