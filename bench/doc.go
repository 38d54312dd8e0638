// Package bench is the load generator behind cmd/wsbench: it opens many
// WebSocket connections to wshub or a peer server, drives one scenario and
// measures delivery, latency and the cost on both sides.
//
// # Connections
//
// A few dial workers open connections at a bounded rate (Config.DialRate),
// each from the next local address of Config.Sources, and perform the
// opening handshake synchronously on the net.Conn: a random 16-byte key, the
// 101 head read up to its blank line, Sec-WebSocket-Accept verified. Bytes
// that arrived after the head travel with the connection. The socket is
// then enrolled in a gnet client (gnet dups the descriptor) and served by
// its epoll event loops: no goroutine per connection. Frames are decoded
// with codec.Decoder straight from gnet's inbound buffer (Peek, Decode,
// Discard).
//
// # Messages
//
// Every data message starts with a Stamp (send time, sequence, publisher),
// padded to Config.Size: a binary message, or with Config.Payload "json"
// a text message of JSON-like game state and chat objects with varying
// numbers, whose first field is the stamp in hex (AppendJSONStamp,
// AppendJSONBody). Receivers record now − send time into a
// Histogram per event loop (log-linear, ~1% from 1 µs to 137 s, no
// allocation per record); the histograms are merged at the end. Before the
// measured phase every connection must receive a warm-up message (sequence
// 0), which proves it is in its room. Sending follows a schedule per event
// loop, triggered by one pacer goroutine through EventLoop.Execute, once
// per loop and due time, never per connection.
//
// # Compression
//
// With Config.Compression the handshake offers permessage-deflate (RFC
// 7692) as Chromium does ("permessage-deflate; client_max_window_bits")
// and checks the answer (§7.1). A connection that negotiated it is decoded
// by a zreader instead of codec.Decoder: a message whose first frame has
// RSV1 is inflated (klauspost/compress/flate) after 00 00 ff ff is
// appended, with the connection's last 32 KiB (2^server_max_window_bits)
// as the window unless the server said server_no_context_takeover. Then
// the servers compress a broadcast once and send every member the same
// bytes, so a loop inflates each such message once and compares the bytes
// of the other copies (a memo): one client process plays thousands of
// browsers without being the bottleneck, and checks every copy exactly.
// What a client sends on such a connection is compressed, each message on
// its own: its stamp in a stored block, then its body, compressed once per
// loop (bodies depend only on the sequence number modulo a few dozen
// variants). A run where a connection did not get compression fails.
//
// # Scenarios
//
// idle (server memory per added connection), broadcast (one publisher, all
// connections in one room, burst or steady), rooms (every member of R rooms
// publishes at a rate), echo (closed loop), connect (handshakes per second,
// and with a restart command the time until every client has redialled),
// inflate (every connection sends Msgs compressed messages to /sink, each
// followed by a ping whose pong says the server has read it, then the
// next: server CPU per MB inflated, and its RSS and heap at their peak; a
// server without /sink is measured on /echo, and the result says so).
// Run returns a Result; Result.OK is false when a message was lost or a
// connection failed, and Result.Failures says which and how many.
//
// # Cluster
//
// Config.Addr may list several servers: the nodes of one wshub cluster
// (cmd/wshub -nats), over which the connections are spread (Config.node):
// connection i to node i mod N, so that every process's contiguous share
// is spread too; the broadcast publisher, connection 0, on the first
// node; the members of each rooms room round-robin from the room's own
// offset, so that every room spans min(members, N) nodes. Each loop counts
// deliveries and latency per node; the result has each node's share
// (Result.Nodes) and, from the nodes' stats (their "cluster" object) and
// the NATS server's /varz before and after the measured phase, what went
// through NATS per published message (Result.NATS). A run fails unless
// the nodes handed NATS one message per published message and got one per
// other node with members in its room: never one per recipient.
// Config.Cluster reports a single node the same way.
//
// # Processes
//
// One process holds at most MaxConnsPerProc connections (the open-file
// limit is 20,000). Config.Procs spreads them over worker processes
// (cmd/wsbench re-run with -worker) that the driver steers over their
// stdin and stdout with JSON lines: init, connect → ready, warmup → warm,
// go → going, results → results, reconnect → reconnected, close → closed.
//
// # Thread rules
//
// Every exported function is safe from any goroutine. A Histogram is not
// safe for concurrent use: each event loop owns one. Inside, a loop's
// state belongs to its event loop and other goroutines reach it through
// EventLoop.Execute or its atomic counters.
package bench
