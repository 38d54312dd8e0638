package engine

import (
	"net"
	"net/netip"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/wshub/wshub/codec"
	"github.com/wshub/wshub/internal/hub"
)

// Conn is one WebSocket connection. Its ID, RemoteAddr and Request never
// change. Every method is safe from any goroutine, event-loop callbacks
// included: sends are queued, in call order, and written by the
// connection's event loop (at the end of the current callback when called
// from one of its callbacks, without waking the loop).
type Conn struct {
	hc      hub.Conn // lifecycle, registry, rooms, outbound queue
	sock    socket
	srv     *Server
	remote  net.Addr
	req     atomic.Pointer[codec.Request] // parsed upgrade request, dropped after OnConnect
	kept    string                        // to parse again on demand: the request line, or the head (Handler.KeepRequest)
	handler *Handler
	value   atomic.Pointer[any]
	client  netip.Addr // the client's address, through trusted proxies
	// protocol is the subprotocol chosen; set before the connection opens.
	protocol string

	// Event loop only.
	dec         codec.Decoder
	upgrade     *Upgrade // awaiting OnUpgrade's decision
	handshaking bool     // counted in Server.handshaking
	counted     bool     // counted under MaxConns and MaxConnsPerIP
	proxied     bool     // its PROXY protocol header was read
	inTracked   bool     // its partial input is on the buffer budget's books
}

// ID returns the connection's ID, unique within the process.
func (c *Conn) ID() uint64 { return c.hc.ID() }

// RemoteAddr returns the peer's address (the PROXY header's source when
// ProxyProtocol is on).
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// ClientAddr returns the client's address: RemoteAddr's, or the one a
// trusted proxy forwarded (Options.TrustedProxies).
func (c *Conn) ClientAddr() netip.Addr { return c.client }

// Protocol returns the subprotocol chosen in the opening handshake, or ""
// for none (RFC 6455 §4.2.2).
func (c *Conn) Protocol() string { return c.protocol }

// Compressed reports whether the connection negotiated permessage-deflate
// (Handler.Compression): messages to it go compressed when that pays, and
// it may send compressed messages.
func (c *Conn) Compressed() bool { return c.hc.Compressed() }

// Request returns the upgrade request. Until OnConnect returns it is whole:
// method, target, path, query, host and headers. After that, to keep idle
// connections small, it has only what the request line says (Method,
// Target, Path, RawQuery, Proto; no Host, no Header), unless the route's
// Handler.KeepRequest keeps it whole; the first call after OnConnect parses
// it again from what was kept, and later calls return the same one. The
// result must not be modified.
func (c *Conn) Request() *Request {
	if r := c.req.Load(); r != nil {
		return r
	}
	// The same bytes were parsed before, so this cannot fail.
	var r *codec.Request
	if c.handler != nil && c.handler.KeepRequest {
		r, _, _ = codec.ParseRequest([]byte(c.kept), len(c.kept))
	} else {
		r, _ = codec.ParseRequestLine(c.kept)
	}
	c.req.CompareAndSwap(nil, r)
	return c.req.Load()
}

// Query returns the parsed query of the upgrade request, and the first
// error of a malformed query (the pairs before it are kept).
func (c *Conn) Query() (url.Values, error) { return url.ParseQuery(c.Request().RawQuery) }

// Server returns the server the connection belongs to.
func (c *Conn) Server() *Server { return c.srv }

// Value returns the value stored with SetValue, or nil.
func (c *Conn) Value() any {
	if p := c.value.Load(); p != nil {
		return *p
	}
	return nil
}

// SetValue stores v with the connection (e.g. a player's game state).
func (c *Conn) SetValue(v any) { c.value.Store(&v) }

// Send queues a message: OpText or OpBinary of any size (up to what the
// client accepts), or OpPing or OpPong of at most 125 bytes. It returns
// ErrCloseFrame for a close frame (use Close), ErrBadOpCode or
// ErrControlTooLong for other frames it cannot send, ErrClosing once the
// connection is closing and ErrClosed once it is gone.
func (c *Conn) Send(op OpCode, payload []byte) error {
	return c.srv.hub.Send(&c.hc, op, payload)
}

// SendText queues a text message; see Send.
func (c *Conn) SendText(s string) error { return c.Send(OpText, []byte(s)) }

// SendBinary queues a binary message; see Send.
func (c *Conn) SendBinary(b []byte) error { return c.Send(OpBinary, b) }

// Close starts the closing handshake: a close frame with code and reason
// (cut to 123 bytes at a UTF-8 boundary) goes out after everything queued
// before, nothing after it; TCP closes when the peer answers, or after the
// close timeout. It returns ErrBadCloseCode for a code that may not be sent
// (see StatusCode), ErrClosing if the connection is already closing (by
// Close, the peer or the server) and ErrClosed if it is gone.
func (c *Conn) Close(code StatusCode, reason string) error {
	return c.srv.hub.Close(&c.hc, code, reason)
}

// Join adds the connection to room; joining twice is a no-op. It takes
// effect before anything sent after it: a Publish to room made after Join
// returns reaches this connection.
func (c *Conn) Join(room string) error { return c.srv.hub.Join(&c.hc, room) }

// Leave removes the connection from room. Rooms are left automatically
// when the connection ends.
func (c *Conn) Leave(room string) error { return c.srv.hub.Leave(&c.hc, room) }

// Latency returns the round trip of the last server ping the client
// answered (see WithPingInterval); 0 before the first.
func (c *Conn) Latency() time.Duration { return c.hc.Latency() }

// Backlog returns the bytes queued for the connection that its socket has
// not taken yet, as of its last write: what a client that does not read
// costs (see WithMaxBacklog).
func (c *Conn) Backlog() int { return c.hc.Backlog() }

// conn returns the engine's Conn of a hub connection.
func conn(hc *hub.Conn) *Conn { return hc.Owner().(*Conn) }
