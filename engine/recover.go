package engine

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"time"
)

// A panic in user code must not take the event loop, and with it every
// other connection of the loop, down. Each callback runs under recover: the
// panic is logged with its stack and only the connection whose callback
// panicked is failed, with 1011 (or HTTP 500 on an HTTP route).

// guard runs fn and reports a panic as an error.
func guard(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	fn()
	return nil
}

// onConnect runs the route's OnConnect.
func (s *Server) onConnect(c *Conn) {
	if h := c.handler.OnConnect; h != nil {
		if err := guard(func() { h(c) }); err != nil {
			s.handlerFailed(c, "OnConnect", err)
		}
	}
}

// onPong runs the route's OnPong.
func (s *Server) onPong(c *Conn, p []byte, rtt time.Duration) {
	if h := c.handler.OnPong; h != nil {
		if err := guard(func() { h(c, p, rtt) }); err != nil {
			s.handlerFailed(c, "OnPong", err)
		}
	}
}

// onMessage runs the route's OnMessage.
func (s *Server) onMessage(c *Conn, op OpCode, p []byte) {
	if h := c.handler.OnMessage; h != nil {
		if err := guard(func() { h(c, op, p) }); err != nil {
			s.handlerFailed(c, "OnMessage", err)
		}
	}
}

// onDisconnect runs the route's OnDisconnect; a panic there is only logged.
func (s *Server) onDisconnect(c *Conn, why *CloseError) {
	if h := c.handler.OnDisconnect; h != nil {
		if err := guard(func() { h(c, why) }); err != nil {
			s.log.Error("handler panicked", "callback", "OnDisconnect", "id", c.ID(), "err", err)
		}
	}
}

// handlerFailed fails c after its callback panicked: close 1011, then TCP.
func (s *Server) handlerFailed(c *Conn, callback string, err error) {
	s.log.Error("handler panicked", "callback", callback, "id", c.ID(), "remote", c.remote, "err", err)
	s.hub.Fail(&c.hc, StatusInternalServerError, "internal server error")
}

// serveGuarded runs an HTTP route's handler; a panic becomes a 500.
func (s *Server) serveGuarded(h http.Handler, w *responseWriter, r *http.Request) {
	if err := guard(func() { h.ServeHTTP(w, r) }); err != nil {
		s.log.Error("handler panicked", "callback", "ServeHTTP", "target", r.RequestURI, "err", err)
		*w = responseWriter{header: make(http.Header), status: http.StatusInternalServerError}
		w.body.WriteString("internal server error\n")
	}
}
