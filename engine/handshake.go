package engine

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"github.com/wshub/wshub/codec"
	"github.com/wshub/wshub/internal/hub"
)

// handshake reads the request head from b. It returns 0 while the head is
// incomplete, otherwise the bytes it consumed: the head, after which the
// connection is open (or waits for OnUpgrade's decision) and the bytes that
// follow are frames, or everything, when it answered with an HTTP response.
func (s *Server) handshake(c *Conn, b []byte) int {
	if c.upgrade != nil {
		return s.waiting(c, b)
	}
	req, n, err := codec.ParseRequest(b, s.opts.MaxHeaderBytes)
	if err != nil {
		s.refuse(c, nil, err.(*codec.HTTPError)) // always one, by its contract
		return len(b)
	}
	if n == 0 {
		return 0
	}
	path, _, _ := strings.Cut(req.Target, "?") // routes match the path as sent
	if h := s.ws[path]; h != nil {
		if s.upgrade(c, req, b[:n], h) {
			return n
		}
		return len(b)
	}
	if h := s.http[path]; h != nil {
		s.serveHTTP(c, req, h)
		return len(b)
	}
	s.refuse(c, req, &codec.HTTPError{Status: http.StatusNotFound, Reason: "no such route"})
	return len(b)
}

// waiting handles input while OnUpgrade's decision is awaited: clients do
// not send frames before the 101, so only a little is kept for later.
func (s *Server) waiting(c *Conn, b []byte) int {
	if len(b) <= s.opts.MaxHeaderBytes {
		return 0
	}
	if u := s.abandonUpgrade(c); u != nil {
		s.log.Info("input while the upgrade waits", "remote", c.remote, "bytes", len(b))
		s.refuse(c, u.req, &codec.HTTPError{Status: http.StatusBadRequest,
			Reason: "data sent before the handshake was answered"})
		return len(b)
	}
	return 0
}

// upgrade checks the opening handshake on a WebSocket route and the limits,
// then opens the connection or hands the decision to OnUpgrade; false
// means it refused the request.
func (s *Server) upgrade(c *Conn, req *codec.Request, head []byte, h *Handler) bool {
	key, he := s.checkUpgrade(c, req)
	if he == nil {
		he = s.reserve(c)
	}
	if he != nil {
		s.refuse(c, req, he)
		return false
	}
	c.handler = h
	if h.KeepRequest {
		c.kept = string(head)
	} else {
		c.kept = req.Line // its own small allocation, apart from the head
	}
	offered := codec.Protocols(req.Header["Sec-Websocket-Protocol"])
	var z *codec.Deflate
	if h.Compression.Enabled {
		cfg := codec.DeflateConfig{ClientWindowBits: h.Compression.ClientWindowBits}
		if d, ok := codec.NegotiateDeflate(req.Header["Sec-Websocket-Extensions"], cfg); ok {
			z = &d
		}
	}
	if h.OnUpgrade != nil {
		s.hook(c, &Upgrade{c: c, req: req, key: key, protocols: offered, deflate: z})
		return c.hc.State() != hub.StateDraining
	}
	s.open(c, req, key, choose(h.Protocols, offered), nil, z)
	return true
}

// checkUpgrade validates the request as an opening handshake, with the
// origin check, and learns the client's address.
func (s *Server) checkUpgrade(c *Conn, req *codec.Request) (string, *codec.HTTPError) {
	if s.state.Load() != stateRunning {
		return "", &codec.HTTPError{Status: http.StatusServiceUnavailable, Reason: "server is shutting down",
			Header: [][2]string{{"Retry-After", "1"}}}
	}
	key, err := codec.CheckUpgrade(req)
	if err != nil {
		return "", err.(*codec.HTTPError) // always one, by its contract
	}
	if !codec.ValidQuery(req.RawQuery) {
		return "", &codec.HTTPError{Status: http.StatusBadRequest, Reason: "malformed query"}
	}
	if origin := req.Header.Get("Origin"); !s.originAllowed(origin, req.Host) {
		return "", &codec.HTTPError{Status: http.StatusForbidden, Reason: "origin not allowed"}
	}
	if len(s.opts.TrustedProxies) > 0 {
		c.client = codec.ClientAddr(c.client, req.Header, s.opts.TrustedProxies)
	}
	return key, nil
}

// reserve takes the connection's places under MaxConns and MaxConnsPerIP,
// held until it closes.
func (s *Server) reserve(c *Conn) *codec.HTTPError {
	if int(s.opened.Add(1)) > s.lim.maxConns {
		s.opened.Add(-1)
		s.stats.refused.Add(1)
		return &codec.HTTPError{Status: http.StatusServiceUnavailable, Reason: "server at its connection limit",
			Header: [][2]string{{"Retry-After", "1"}}}
	}
	if !s.perIP.acquire(c.client) {
		s.opened.Add(-1)
		s.stats.refused.Add(1)
		return &codec.HTTPError{Status: http.StatusTooManyRequests, Reason: "too many connections from your address",
			Header: [][2]string{{"Retry-After", "5"}}}
	}
	c.counted = true
	return nil
}

// unreserve gives the places back.
func (s *Server) unreserve(c *Conn) {
	if c.counted {
		c.counted = false
		s.opened.Add(-1)
		s.perIP.release(c.client)
	}
}

// open completes the opening handshake: the connection enters the
// registry, OnConnect runs, and the 101 goes out with the chosen
// subprotocol, the accepted permessage-deflate (z, nil for none) and
// extra headers.
func (s *Server) open(c *Conn, req *codec.Request, key, proto string, extra [][2]string, z *codec.Deflate) {
	s.endHandshake(c)
	c.protocol = proto
	c.req.Store(req)
	if z != nil {
		c.dec.SetDeflate(z.ClientWindowBits)
		c.hc.SetCompression(z.ServerWindowBits)
		extra = append(extra, [2]string{"Sec-WebSocket-Extensions", z.Response})
	}
	s.hub.Attach(&c.hc)
	s.log.Info("connect", "id", c.ID(), "remote", c.remote, "client", c.client, "path", req.Path,
		"query", req.RawQuery, "protocol", proto, "compressed", z != nil)
	if proto != "" {
		extra = append(extra, [2]string{"Sec-WebSocket-Protocol", proto})
	}
	// Before the 101 leaves: whatever OnConnect queues (a room join, a
	// welcome) is in place before the client can know it is connected, and
	// is written after the 101 when this step ends.
	s.onConnect(c)
	c.req.Store(nil) // Request parses c.kept again if asked
	_, _ = c.sock.Write(codec.AppendUpgradeResponse(nil, key, extra))
}

// endHandshake counts the end of c's handshake, once.
func (s *Server) endHandshake(c *Conn) {
	if c.handshaking {
		c.handshaking = false
		s.handshaking.Add(-1)
	}
}

// endUpgrade ends a handshake that will not open.
func (s *Server) endUpgrade(c *Conn) {
	s.endHandshake(c)
	s.unreserve(c)
	c.kept = ""
}

// refuse answers the handshake with an HTTP error and closes. The body is
// the server's own reason, never the request's bytes.
func (s *Server) refuse(c *Conn, req *codec.Request, he *codec.HTTPError) {
	s.turnAway(c, req, he.Status, he.Reason, codec.AppendErrorResponse(nil, he))
}

// turnAway ends a handshake that will not open with the final response
// resp, logged as a refusal with status and reason.
func (s *Server) turnAway(c *Conn, req *codec.Request, status int, reason string, resp []byte) {
	target := ""
	if req != nil {
		target = req.Target
	}
	s.log.Info("refused", "remote", c.remote, "client", c.client, "status", status, "target", target, "reason", reason)
	s.endUpgrade(c)
	s.respond(c, resp)
}

// respond writes a final HTTP response; the connection closes once the
// client has read it (see hub.Finish).
func (s *Server) respond(c *Conn, resp []byte) {
	if _, err := c.sock.Write(resp); err == nil {
		s.hub.Finish(&c.hc)
	}
}

// originAllowed implements the origin check: no Origin header and
// same-origin requests pass, then the allow-list.
func (s *Server) originAllowed(origin, host string) bool {
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err == nil && u.Host != "" && strings.EqualFold(u.Host, host) {
		return true
	}
	for _, o := range s.opts.Origins {
		switch {
		case o == "*":
			return true
		case strings.EqualFold(o, origin):
			return true
		case err == nil && u.Host != "" && strings.EqualFold(o, u.Host):
			return true
		}
	}
	return false
}

// serveHTTP runs a plain HTTP route's handler and sends its response.
func (s *Server) serveHTTP(c *Conn, req *codec.Request, h http.Handler) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		s.refuse(c, req, &codec.HTTPError{Status: http.StatusMethodNotAllowed, Reason: "method not allowed",
			Header: [][2]string{{"Allow", "GET, HEAD"}}})
		return
	}
	hr := &http.Request{
		Method:     req.Method,
		URL:        &url.URL{Path: req.Path, RawQuery: req.RawQuery},
		Proto:      req.Proto,
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     req.Header,
		Host:       req.Host,
		RemoteAddr: c.remote.String(),
		RequestURI: req.Target,
		Body:       http.NoBody,
	}
	w := &responseWriter{header: make(http.Header)}
	s.serveGuarded(h, w, hr)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	body := w.body.Bytes()
	if req.Method == http.MethodHead {
		body = nil
	}
	s.log.Info("http", "remote", c.remote, "method", req.Method, "target", req.Target, "status", w.status)
	s.respond(c, codec.AppendResponse(nil, w.status, withPlainText(headerLines(w.header, responseFields), w.header), body))
}

// responseWriter collects an http.Handler's response.
type responseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// headerLines turns a header map into lines, without the fields in drop:
// those the server sets itself.
func headerLines(h http.Header, drop map[string]bool) [][2]string {
	var out [][2]string
	for k, vs := range h {
		if drop[http.CanonicalHeaderKey(k)] {
			continue
		}
		for _, v := range vs {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

// withPlainText adds a text/plain Content-Type to lines unless h names one.
func withPlainText(lines [][2]string, h http.Header) [][2]string {
	if h.Get("Content-Type") == "" {
		lines = append(lines, [2]string{"Content-Type", "text/plain; charset=utf-8"})
	}
	return lines
}

// responseFields are the fields of an HTTP route's response that the codec
// sets.
var responseFields = map[string]bool{"Content-Length": true, "Connection": true}
