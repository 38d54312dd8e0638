// Package engine is wshub's WebSocket server: a gnet/v2 reactor that
// accepts TCP connections, performs the RFC 6455 opening handshake, decodes
// frames straight from each event loop's inbound buffer and hands messages
// to your Handler. It is the one package a chat or game server imports:
// opcodes (OpText, OpBinary, OpPing, OpPong), close codes (Status*), close
// errors (CloseError, CloseStatus) and rooms are all here.
//
// # Model
//
// It keeps the shape of the classic "WebSocket server" API: a server on an
// address with paths (Handle), an origin check (WithOrigins), the events
// OnConnect / OnMessage / OnDisconnect, the list of connections (Len, Get,
// Range), Broadcast and BroadcastExcept, and per-connection Send, Close and
// ID. Rooms: Conn.Join and Conn.Leave, Server.Publish and PublishExcept,
// Members, Rooms and RangeMembers; SendTo reaches a connection by ID. Plain
// HTTP GET routes (HandleHTTP) share the port, e.g. for a page that opens
// the WebSocket.
//
// # Thread rules
//
// There is no goroutine per connection. A fixed number of event loops (one
// per CPU by default) serve all sockets.
//
//   - Handler callbacks (OnConnect, OnMessage, OnDisconnect) and
//     http.Handlers given to HandleHTTP run on an event loop. They must not
//     block: every other connection of that loop waits while they run. Hand
//     slow work to your own goroutines.
//   - The payload passed to OnMessage is valid only until OnMessage returns;
//     copy it to keep it.
//   - A panic in a callback is recovered and logged with its stack; only
//     that connection fails (close 1011, or HTTP 500 on an HTTP route).
//   - Every method of Conn and Server is safe from any goroutine, callbacks
//     included, except Handle and HandleHTTP, which come before Start.
//   - Sends are asynchronous and ordered: what one goroutine sends to a
//     connection arrives in call order, and a send made after Join returns
//     reaches the room. A send made in a callback is written by the loop
//     when that callback returns, without waking the loop, together with
//     everything else the connection got meanwhile (one write(2)); sends
//     from other goroutines cost one wake-up per loop, not per connection.
//
// # Closing
//
// Close(code, reason) sends a close frame after everything queued before,
// and nothing after it, whichever call queued it; TCP closes when the peer
// answers, or after the close timeout. Once a close has started (by Close,
// the peer or the server), Close and every send return ErrClosing; once the
// connection is gone, ErrClosed. A peer's close frame is answered with the
// same code. Protocol violations fail the connection with the RFC 6455 code
// (1002, 1007, 1009); a client that does not read is failed with 1008 (see
// WithMaxBacklog). After the last close frame, the server shuts its write
// side and waits for the peer to close, so that nothing is lost to a reset.
// Stop sends 1001 to every client, waits for their replies and stops the
// loops.
package engine
