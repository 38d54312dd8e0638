package engine

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"github.com/wshub/wshub/codec"
)

// handshake reads the request head from b. It returns 0 while the head is
// incomplete, otherwise the bytes it consumed: the head, after which the
// connection is open and the bytes that follow are frames, or everything,
// when it answered with an HTTP response.
func (s *Server) handshake(c *Conn, b []byte) int {
	req, n, err := codec.ParseRequest(b, s.opts.MaxHeaderBytes)
	if err != nil {
		s.refuse(c, nil, err.(*codec.HTTPError)) // always one, by its contract
		return len(b)
	}
	if n == 0 {
		return 0
	}
	if h := s.ws[req.Path]; h != nil {
		if s.upgrade(c, req, b[:n], h) {
			return n
		}
		return len(b)
	}
	if h := s.http[req.Path]; h != nil {
		s.serveHTTP(c, req, h)
		return len(b)
	}
	s.refuse(c, req, &codec.HTTPError{Status: http.StatusNotFound, Reason: "no route for " + req.Path})
	return len(b)
}

// upgrade completes the opening handshake on a WebSocket route; false means
// it refused the request.
func (s *Server) upgrade(c *Conn, req *codec.Request, head []byte, h *Handler) bool {
	if s.state.Load() != stateRunning {
		s.refuse(c, req, &codec.HTTPError{Status: http.StatusServiceUnavailable, Reason: "server is shutting down"})
		return false
	}
	key, err := codec.CheckUpgrade(req)
	if err != nil {
		s.refuse(c, req, err.(*codec.HTTPError)) // always one, by its contract
		return false
	}
	if origin := req.Header.Get("Origin"); !s.originAllowed(origin, req.Host) {
		s.refuse(c, req, &codec.HTTPError{Status: http.StatusForbidden, Reason: "origin " + origin + " not allowed"})
		return false
	}
	c.handler = h
	c.head = append([]byte(nil), head...)
	c.req.Store(req)
	s.hub.Attach(&c.hc)
	s.log.Info("connect", "id", c.ID(), "remote", c.remote, "path", req.Path, "query", req.RawQuery)
	// Before the 101 leaves: whatever OnConnect queues (a room join, a
	// welcome) is in place before the client can know it is connected, and
	// is written after the 101 when this step ends.
	s.onConnect(c)
	c.req.Store(nil) // Request parses c.head again if asked
	_, _ = c.sock.Write(codec.AppendUpgradeResponse(nil, key, nil))
	return true
}

// refuse answers the handshake with an HTTP error and closes.
func (s *Server) refuse(c *Conn, req *codec.Request, he *codec.HTTPError) {
	target := ""
	if req != nil {
		target = req.Target
	}
	s.log.Info("refused", "remote", c.remote, "status", he.Status, "target", target, "reason", he.Reason)
	s.respond(c, codec.AppendErrorResponse(nil, he))
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
	s.respond(c, codec.AppendResponse(nil, w.status, flatten(w.header), body))
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

// flatten turns a header map into lines, dropping the ones the codec sets.
func flatten(h http.Header) [][2]string {
	var out [][2]string
	for k, vs := range h {
		if k == "Content-Length" || k == "Connection" {
			continue
		}
		for _, v := range vs {
			out = append(out, [2]string{k, v})
		}
	}
	if h.Get("Content-Type") == "" {
		out = append(out, [2]string{"Content-Type", "text/plain; charset=utf-8"})
	}
	return out
}
