package engine

import (
	"net"
	"net/url"
	"sync/atomic"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/codec"
	"github.com/wshub/wshub/hub"
)

// connState is where a connection is in its life. Event loop only.
type connState uint8

const (
	stateHandshake connState = iota // reading the request head
	stateOpen                       // WebSocket open
	stateClosing                    // we sent close, waiting for the peer's
	stateClosed                     // close done or failed; socket closing
	stateLinger                     // write side shut; reading until EOF
)

// Conn is one WebSocket connection. Its ID, RemoteAddr and Request never
// change; every method is safe from any goroutine unless it says otherwise.
type Conn struct {
	hub.Conn // ID, Backlog

	srv     *Server
	remote  net.Addr
	req     atomic.Pointer[codec.Request] // parsed upgrade request, dropped after OnConnect
	head    []byte                        // the request head as received, to parse again on demand
	handler *Handler
	value   atomic.Pointer[any]

	// Event loop only.
	state    connState
	dec      codec.Decoder
	deadline int64       // handshake, close or linger deadline in unix nanoseconds; 0 = none
	why      *CloseError // how it ended, once known
}

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// Request returns the upgrade request: path, query and headers. The parsed
// form is dropped once OnConnect returns, to keep idle connections small, and
// parsed again from the stored request head on the first call after that.
// The result must not be modified.
func (c *Conn) Request() *codec.Request {
	if r := c.req.Load(); r != nil {
		return r
	}
	r, _, err := codec.ParseRequest(c.head, len(c.head))
	if err != nil || r == nil { // cannot happen: the same bytes parsed before
		r = &codec.Request{}
	}
	c.req.CompareAndSwap(nil, r)
	return c.req.Load()
}

// Query returns the parsed query of the upgrade request.
func (c *Conn) Query() url.Values {
	q, _ := url.ParseQuery(c.Request().RawQuery)
	return q
}

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

// Send queues a text (ws.OpText) or binary (ws.OpBinary) message, or a ping
// or pong of at most 125 bytes; other opcodes, close among them (use Close),
// return hub.ErrBadOpCode. It returns hub.ErrClosed once the connection is
// gone; a message queued while the connection is closing is dropped.
func (c *Conn) Send(op ws.OpCode, payload []byte) error {
	if op == ws.OpClose {
		return hub.ErrBadOpCode
	}
	return c.srv.hub.Send(c, op, payload)
}

// SendText queues a text message.
func (c *Conn) SendText(s string) error {
	return c.srv.hub.Send(c, ws.OpText, []byte(s))
}

// SendBinary queues a binary message.
func (c *Conn) SendBinary(b []byte) error { return c.srv.hub.Send(c, ws.OpBinary, b) }

// Close starts the closing handshake: it sends a close frame with code and
// reason (at most 123 bytes) after everything queued before, waits for the
// peer's close frame or the close timeout, then closes TCP.
func (c *Conn) Close(code ws.StatusCode, reason string) error {
	if !codec.ValidCloseCode(code) { // the codes one may receive are the codes one may send
		return ErrBadCloseCode
	}
	reason = codec.TrimCloseReason(reason)
	return c.srv.hub.SendLastIf(c, codec.NewCloseFrame(code, reason), func() bool {
		return c.startClose(code, reason)
	}, nil)
}

// startClose moves an open connection to closing; it runs on the loop right
// before the close frame is queued, and says whether to queue it.
func (c *Conn) startClose(code ws.StatusCode, reason string) bool {
	if c.state != stateOpen {
		return false
	}
	c.state = stateClosing
	c.why = &CloseError{Code: code, Reason: reason}
	c.srv.timeout(c, c.srv.opts.CloseTimeout)
	return true
}
