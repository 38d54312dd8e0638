// Package cluster joins wshub servers through NATS, so that rooms,
// broadcasts and targeted sends span every node of a deployment. It is a
// module of its own: a server that runs alone does not pull NATS in.
//
// # Semantics
//
// A Node wraps one engine.Server and a NATS connection. Its Publish,
// PublishExcept, Broadcast, BroadcastExcept and SendTo do what the
// server's methods of the same names do, for the whole cluster:
//
//   - Publish to a room reaches every member on every node; Broadcast
//     every connection of the cluster; SendTo the connection with that ID
//     on whichever node holds it (IDs carry their server's node ID,
//     engine.WithNodeID, so nodes must have distinct node IDs).
//
//   - A node subscribes only to the rooms it has local members in, and
//     unsubscribes when the last one leaves (engine.Server.WatchRooms).
//     A message from NATS is published locally once, so it is encoded once
//     per node and takes the same coalesced write path as a local publish.
//     A node's own messages are delivered by it directly, never again from
//     NATS.
//
//   - Order: messages published to one room from one goroutine (an event
//     loop's callbacks, say) arrive at every member in the order they were
//     published: NATS keeps a connection's order per subject, and a node
//     delivers what it receives from one goroutine. Publishes from several
//     goroutines at once have no order between them.
//
//   - A room's new members on a node get cross-node messages once the
//     node's subscription has reached NATS, a round trip after the first
//     member joined; what was published meanwhile does not reach them
//     (at most once).
//
//   - Room names of up to 65,535 bytes work; a long one's subject is a
//     hash of it, and its messages carry the name. A message larger than
//     the NATS server's max_payload is refused with ErrTooLarge before
//     anything is delivered.
//
//   - Delivery across nodes is at most once (core NATS). While NATS is
//     unreachable, local delivery goes on, nats.go buffers outgoing
//     messages up to its reconnect buffer (nats.ReconnectBufSize) and
//     reconnects with its backoff; messages that do not fit are dropped and
//     counted (Stats.Dropped), and so are messages a node received faster
//     than it could deliver (Stats.SlowDropped).
//
//   - Room sizes across the cluster (Node.Members, Node.AllRooms) are
//     eventually consistent: every node publishes its rooms' member counts
//     every Options.PresenceInterval (1 s by default) on PREFIX.presence,
//     so a count lags by at most the sender's interval and a NATS
//     delivery; a node that leaves (Close) is forgotten at once, one that
//     vanishes after three of its intervals (at the observer's next
//     tick). Presence is not sent while NATS is unreachable.
//
//   - Node IDs must be distinct: a node drops the messages that carry its
//     own ID as its own. Two nodes given one ID notice it from each
//     other's presence (each Node has a random instance number in it):
//     both log an error and count it (Stats.Conflicts). Stats.Nodes is how
//     many other nodes this one hears.
//
//   - Options.OnRoomMessage sees every room message from another node,
//     after local delivery, on the delivery goroutine: for state an
//     application keeps beside its rooms (the chat demo in cmd/wshub
//     answers a member joining elsewhere with its own members).
//     Options.OnSubscribed is told, on a goroutine of the node's own, when
//     NATS has confirmed the node's subscription to a room: from then on
//     the room's cross-node messages reach this node.
//
// Subjects: PREFIX.room.TOKEN (a room; TOKEN is the name when it is made
// of letters, digits, '-' and '_', otherwise '~' and its base64url, or
// for a long name "~~" and its SHA-256 in base64url),
// PREFIX.all (broadcasts), PREFIX.node.N (sends to node N's connections)
// and PREFIX.presence (room counts). The prefix defaults to "wshub".
//
// # Thread rules
//
// Join must be called before the server starts (it sets its room
// watcher). Every method of Node is safe from any goroutine, event-loop
// callbacks included. A publish is nats.go's: it appends to the
// connection's buffer, and when 32 KiB are pending it writes them to the
// socket itself, under the connection's lock; so a NATS server that reads
// slowly slows the publishing goroutine (an event loop, say) down, by up
// to nats.FlusherTimeout per write. A Node runs one goroutine of its own for
// subscriptions and delivery (OnRoomMessage runs there), one more for
// OnSubscribed when it is set, and nats.go runs its connection's.
package cluster
