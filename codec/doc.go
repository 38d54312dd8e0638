// Package codec implements the RFC 6455 opening handshake and the frame
// format for a server that reads from an event loop's inbound buffer.
//
// Everything here is pure: no sockets, no goroutines, no gnet import. The
// functions take the bytes that have arrived so far and answer either with a
// result and the number of bytes consumed, or with "need more" (zero result,
// zero error), or with an error that carries the HTTP status (*HTTPError) or
// the RFC close code (*ProtocolError) to answer with.
//
// # Handshake
//
// ParseRequest parses a request head from the start of the buffer and says
// how many bytes it used; the bytes after the head are frames and stay in
// the buffer. CheckUpgrade validates the head as an opening handshake and
// returns the key for AppendUpgradeResponse; a refusal is an *HTTPError that
// AppendErrorResponse renders.
//
// # Frames
//
// A Decoder checks each frame header as soon as it is complete, unmasks
// payloads in place, returns unfragmented messages and control frames
// without copying when they arrived whole, takes the payload of a frame
// still arriving as it comes, reassembles messages in a pooled buffer and
// validates text as UTF-8 as it arrives, within a frame as well as across
// fragments. Frame is an encoded server frame
// with a reference count, built once and written to any number of
// connections. AppendFrame builds arbitrary (also masked) frames for tests
// and clients.
//
// # permessage-deflate (RFC 7692)
//
// NegotiateDeflate answers a client's offers (on gobwas/ws's wsflate
// types), always with server_no_context_takeover: Frame.Deflated then
// compresses a frame's message once, for every connection that negotiated
// it. Decoder.SetDeflate makes a Decoder inflate messages with RSV1 set, with
// pooled state, the message cap applied to the inflated size as it
// inflates and text validated as it inflates.
//
// # Thread rules
//
// A Decoder belongs to one connection and is used by one goroutine at a time
// (the connection's event loop). Frames (*Frame) are immutable once built
// and may be shared by any number of goroutines; their reference count is
// atomic. All package-level functions are safe from any goroutine.
//
// The types of github.com/gobwas/ws (ws.Header, ws.OpCode, ws.StatusCode,
// ws.Cipher) are used throughout; the blocking readers of ws and wsutil are
// not, because they cannot resume on a partial frame.
package codec
