package engine

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"

	"github.com/wshub/wshub/codec"
	"github.com/wshub/wshub/internal/hub"
)

// Errors of Upgrade.Accept and Upgrade.Refuse.
var (
	// ErrDecided: the upgrade was accepted or refused already, or timed
	// out, or its connection closed while it waited.
	ErrDecided = errors.New("engine: upgrade already decided")
	// ErrProtocolNotOffered: Accept chose a subprotocol the client did not
	// offer (RFC 6455 §4.2.2 forbids it).
	ErrProtocolNotOffered = errors.New("engine: subprotocol not offered by the client")
	// ErrBadHeader: a response header with a name that is not a token or a
	// value with a control character.
	ErrBadHeader = errors.New("engine: invalid response header")
	// ErrBadStatus: Refuse got a status outside 300-599.
	ErrBadStatus = errors.New("engine: refusal status must be 300-599")
)

// Upgrade is an opening handshake waiting for the application's decision:
// Handler.OnUpgrade receives it before anything is answered. Accept or
// Refuse decides, once, either inside OnUpgrade or later from any
// goroutine (after a token check against a database, say): until then the
// connection waits, its loop serves the others, and the handshake timeout
// bounds the wait (the client then gets 503).
//
// Its getters are safe from any goroutine and stay valid after the
// decision; the Request must not be modified.
type Upgrade struct {
	c         *Conn
	req       *Request
	key       string
	protocols []string
	deflate   *codec.Deflate // the permessage-deflate the route accepts; nil: none

	mu      sync.Mutex // guards phase and verdict
	phase   int8
	verdict verdict
}

// The phases of an Upgrade. The loop moves inHook to waiting when
// OnUpgrade returns without a decision, and waiting to expired when the
// handshake times out; a decision moves inHook or waiting to decided.
const (
	phaseInHook int8 = iota
	phaseWaiting
	phaseDecided
	phaseExpired
)

// verdict is a decision.
type verdict struct {
	accept bool
	opts   AcceptOptions
	status int
	header [][2]string
	body   string
}

// AcceptOptions complete an accepted handshake.
type AcceptOptions struct {
	// Protocol is the subprotocol to answer with; it must be one the
	// client offered. Empty: the route's preference (Handler.Protocols).
	Protocol string
	// Header is added to the 101 response (Set-Cookie, say). The fields
	// the handshake itself sets (Upgrade, Connection, Sec-WebSocket-*) are
	// not taken from it.
	Header http.Header
	// Value is stored with the connection before OnConnect (Conn.Value).
	Value any
	// NoCompression declines permessage-deflate for this connection,
	// though the route and the client would have it (Upgrade.Compression).
	NoCompression bool
}

// Request returns the upgrade request: method, path, query, headers.
func (u *Upgrade) Request() *Request { return u.req }

// RemoteAddr returns the TCP peer's address (the PROXY header's source
// when ProxyProtocol is on).
func (u *Upgrade) RemoteAddr() net.Addr { return u.c.remote }

// ClientAddr returns the client's address: RemoteAddr's, or the one a
// trusted proxy forwarded (Options.TrustedProxies).
func (u *Upgrade) ClientAddr() netip.Addr { return u.c.client }

// Protocols returns the subprotocols the client offers, in its order of
// preference (Sec-WebSocket-Protocol).
func (u *Upgrade) Protocols() []string { return u.protocols }

// Extensions returns the extension offers of Sec-WebSocket-Extensions, one
// per offer with its parameters. permessage-deflate, on a route with
// Compression, is negotiated already: see Compression.
func (u *Upgrade) Extensions() []string {
	return codec.Extensions(u.req.Header["Sec-Websocket-Extensions"])
}

// Compression returns the permessage-deflate response the route accepts
// the client's offer with (e.g. "permessage-deflate;
// server_no_context_takeover; client_no_context_takeover"; the parameters
// follow the offer and Compression.ClientWindowBits), or ok false
// when there is none: the route has Compression off, or the client offers
// nothing acceptable. A hook that requires compression refuses on !ok; one
// that forbids it accepts with AcceptOptions.NoCompression.
func (u *Upgrade) Compression() (response string, ok bool) {
	if u.deflate == nil {
		return "", false
	}
	return u.deflate.Response, true
}

// Cookie returns the named cookie of the request, or http.ErrNoCookie.
func (u *Upgrade) Cookie(name string) (*http.Cookie, error) {
	return (&http.Request{Header: u.req.Header}).Cookie(name)
}

// Accept completes the handshake with 101: the connection opens and
// OnConnect runs. It returns ErrProtocolNotOffered or ErrBadHeader for
// options it cannot answer with (the upgrade stays undecided), and
// ErrDecided if a decision was made before.
func (u *Upgrade) Accept(o AcceptOptions) error {
	if o.Protocol != "" && !slices.Contains(u.protocols, o.Protocol) {
		return ErrProtocolNotOffered
	}
	if !validHeader(o.Header) {
		return ErrBadHeader
	}
	return u.decide(verdict{accept: true, opts: o})
}

// Refuse answers the handshake with status (300-599), header and body
// (text/plain unless header says otherwise), then closes the connection:
// 401 with WWW-Authenticate, 403, 429 with Retry-After, ... The client
// never sees the connection open. Errors: ErrBadStatus, ErrBadHeader,
// ErrDecided.
func (u *Upgrade) Refuse(status int, header http.Header, body string) error {
	if status < 300 || status > 599 {
		return ErrBadStatus
	}
	if !validHeader(header) {
		return ErrBadHeader
	}
	return u.decide(verdict{status: status, header: refusalHeader(header), body: body})
}

// decide records v as the decision. Made inside OnUpgrade, it is applied
// when the hook returns; made later, it is handed to the connection's loop.
func (u *Upgrade) decide(v verdict) error {
	u.mu.Lock()
	p := u.phase
	if p != phaseInHook && p != phaseWaiting {
		u.mu.Unlock()
		return ErrDecided
	}
	u.verdict, u.phase = v, phaseDecided
	u.mu.Unlock()
	if p == phaseWaiting {
		u.c.srv.later(u)
	}
	return nil
}

// move changes the phase from one to another, or reports false.
func (u *Upgrade) move(from, to int8) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.phase != from {
		return false
	}
	u.phase = to
	return true
}

// later applies a decision made after OnUpgrade returned, on the loop.
func (s *Server) later(u *Upgrade) {
	c := u.c
	_ = c.hc.Shard().Do(func() {
		if c.upgrade != u || c.hc.State() != hub.StateHandshake {
			return // closed or timed out meanwhile
		}
		s.apply(u)
		if c.sock.gc.InboundBuffered() > 0 && reading(c) {
			s.traffic(c) // frames sent before the 101 arrived
		}
	})
}

// hook runs the route's OnUpgrade and applies its decision if it made one;
// otherwise the connection waits for it.
func (s *Server) hook(c *Conn, u *Upgrade) {
	c.upgrade = u
	err := guard(func() { c.handler.OnUpgrade(u) })
	if err != nil {
		s.log.Error("panic in OnUpgrade", "remote", c.remote, "err", err)
		_ = u.decide(verdict{status: http.StatusInternalServerError, body: "internal server error"})
	}
	if u.move(phaseInHook, phaseWaiting) {
		s.log.Debug("upgrade deferred", "remote", c.remote)
		return
	}
	s.apply(u)
}

// apply carries out a decision, on the loop.
func (s *Server) apply(u *Upgrade) {
	c, v := u.c, &u.verdict
	c.upgrade = nil
	if !v.accept {
		s.turnAway(c, u.req, v.status, "OnUpgrade", codec.AppendResponse(nil, v.status, v.header, []byte(v.body)))
		return
	}
	proto := v.opts.Protocol
	if proto == "" {
		proto = choose(c.handler.Protocols, u.protocols)
	}
	if v.opts.Value != nil {
		c.SetValue(v.opts.Value)
	}
	z := u.deflate
	if v.opts.NoCompression {
		z = nil
	}
	s.open(c, u.req, u.key, proto, headerLines(v.opts.Header, handshakeFields), z)
}

// expireUpgrade ends a wait for a decision at the handshake timeout with
// 503; it reports false for a connection that was not waiting.
func (s *Server) expireUpgrade(c *Conn) bool {
	u := s.abandonUpgrade(c)
	if u == nil {
		return false
	}
	s.log.Warn("no upgrade decision in time", "remote", c.remote, "timeout", s.opts.HandshakeTimeout)
	s.refuse(c, u.req, &codec.HTTPError{Status: http.StatusServiceUnavailable, Reason: "upgrade decision timed out",
		Header: [][2]string{{"Retry-After", "1"}}})
	return true
}

// abandonUpgrade ends c's wait for a decision, which then gets ErrDecided,
// and returns the upgrade; nil means c was not waiting. The caller answers
// the client.
func (s *Server) abandonUpgrade(c *Conn) *Upgrade {
	u := c.upgrade
	if u == nil || !u.move(phaseWaiting, phaseExpired) {
		return nil
	}
	c.upgrade = nil
	return u
}

// choose returns the first of the server's protocols, in its order of
// preference, that the client offered (RFC 6455 §4.2.2), or "".
func choose(server, offered []string) string {
	for _, p := range server {
		if slices.Contains(offered, p) {
			return p
		}
	}
	return ""
}

func validHeader(h http.Header) bool {
	for k, vs := range h {
		for _, v := range vs {
			if !codec.ValidHeaderField(k, v) {
				return false
			}
		}
	}
	return true
}

// handshakeFields are set by the server, never taken from the application.
var handshakeFields = map[string]bool{
	"Upgrade": true, "Connection": true, "Content-Length": true, "Transfer-Encoding": true,
	"Sec-Websocket-Accept": true, "Sec-Websocket-Protocol": true, "Sec-Websocket-Extensions": true,
}

// refusalHeader is a refusal's header lines, with text/plain unless it
// names a type, and nosniff.
func refusalHeader(h http.Header) [][2]string {
	out := append(headerLines(h, handshakeFields), [2]string{"X-Content-Type-Options", "nosniff"})
	return withPlainText(out, h)
}
