// Package engine is wshub's WebSocket server: a gnet/v2 reactor that accepts
// TCP connections, performs the RFC 6455 opening handshake, decodes frames
// straight from each event loop's inbound buffer and hands messages to your
// Handler. Outbound frames go through package hub, which encodes a broadcast
// once and lets every event loop write it to its own connections.
//
// # Model
//
// It keeps the shape of the classic "WebSocket server" API: a server on an
// address with paths (Handle), an origin check (WithOrigins), the events
// OnConnect / OnMessage / OnDisconnect, the list of connections (Len, Range),
// Broadcast and BroadcastExcept, and per-connection Send, Close and ID. Plain
// HTTP GET routes (HandleHTTP) share the port, e.g. for a page that opens the
// WebSocket.
//
// # Thread rules
//
// There is no goroutine per connection. A fixed number of event loops (one
// per CPU by default) serve all sockets.
//
//   - Handler callbacks (OnConnect, OnMessage, OnDisconnect) and http.Handlers
//     given to HandleHTTP run on an event loop. They must not block: every
//     other connection of that loop waits while they run. Hand slow work to
//     your own goroutines.
//   - The payload passed to OnMessage is valid only until OnMessage returns;
//     copy it to keep it.
//   - A panic in a callback is recovered and logged with its stack; only
//     that connection fails (close 1011, or HTTP 500 on an HTTP route).
//   - Conn.Send*, Conn.Close, Conn.Value/SetValue and every Server method are
//     safe from any goroutine. Handle, HandleHTTP and the options must be set
//     before Start.
//   - Sends are asynchronous: they are queued in order and written by the
//     connection's event loop at the end of its current iteration, coalesced
//     with anything else queued for that connection.
//
// # Closing
//
// Close(code, reason) sends a close frame, waits for the peer's close frame
// (or the close timeout) and then closes TCP. A peer's close frame is
// answered with the same code. Protocol violations fail the connection with
// the RFC 6455 close code (1002, 1007, 1009). Stop sends 1001 to every
// client, waits for their replies and stops the loops.
package engine
