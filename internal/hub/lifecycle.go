package hub

import (
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/codec"
)

// Every change of a connection's State is made by one of the functions in
// this file; see State for the diagram.

// Open registers c, a connection whose socket has just been accepted on
// loop, with that loop's shard, in StateHandshake, with the handshake
// deadline. owner is what Owner returns. Event loop only, once per
// connection.
func (h *Hub) Open(c *Conn, loop Loop, sock Socket, owner any) {
	s := h.shardFor(loop)
	c.shard, c.sock, c.owner = s, sock, owner
	c.timer.Init(c)
	c.set(StateHandshake)
	s.setTimer(c, h.cfg.HandshakeTimeout)
}

// Attach opens c after a successful opening handshake: it gets its ID, it
// enters the registry and Broadcast reaches it. Event loop only.
func (h *Hub) Attach(c *Conn) {
	s := c.shard
	s.stopTimer(c)
	c.id = h.idBase | lastID.Add(1)&idMask
	c.slot = int32(len(s.conns))
	s.conns = append(s.conns, c)
	c.set(StateOpen) // before Get and Range can find it
	h.register(c)
	s.startKeepalive(c)
}

// Finish ends a connection that never opened, after its owner wrote an
// HTTP response: once the response has left, the write side is shut and
// the connection lingers until the client closes. Event loop only.
func (h *Hub) Finish(c *Conn) {
	if c.swap(StateDraining, StateHandshake) == StateHandshake {
		c.shard.drain(c)
	}
}

// Close starts the closing handshake on an open connection: a close frame
// with code and reason (cut to 123 bytes at a UTF-8 boundary) after
// everything queued for c before, nothing after it, then a wait of
// CloseTimeout for the peer's close frame before TCP closes. It returns
// ErrBadCloseCode for a code an endpoint may not send, ErrClosing if the
// connection is already closing (by Close, the peer or the server),
// ErrClosed if it is gone. Safe from any goroutine.
func (h *Hub) Close(c *Conn, code ws.StatusCode, reason string) error {
	if err := admitClose(code); err != nil {
		return err
	}
	if !c.state.CompareAndSwap(uint32(StateOpen), uint32(StateClosing)) {
		if err := c.sendErr(); err != nil {
			return err
		}
		return ErrClosing // not open yet: cannot happen for an attached connection
	}
	reason = codec.TrimCloseReason(reason)
	return c.shard.enqueue(job{kind: opClose, c: c, f: codec.NewCloseFrame(code, reason),
		why: &Why{Code: code, Reason: reason}})
}

// PeerClosed handles the peer's close frame with code and reason. On an
// open connection it queues the echo of the code (an empty close frame for
// none) and drains; if our own close frame is already out, the closing
// handshake is complete and TCP closes now. Event loop only.
func (h *Hub) PeerClosed(c *Conn, code ws.StatusCode, reason string) {
	switch c.swap(StateDraining, StateOpen) {
	case StateOpen:
		c.why = &Why{Code: code, Reason: reason, Remote: true}
		echo := code
		if code == ws.StatusNoStatusRcvd {
			echo = 0
		}
		_ = c.shard.enqueue(job{kind: opClose, c: c, f: codec.NewCloseFrame(echo, "")})
		return
	}
	if c.State() != StateClosing {
		return // draining or lingering already: input is dropped
	}
	if c.sealed && c.sock.Buffered() == 0 {
		// The closing handshake is complete and our close frame has left.
		c.set(StateLinger)
		c.shard.closeNow(c)
		return
	}
	// Our close frame answers the peer's, but has not left yet: it is
	// still in the socket's buffer (the closes crossed), or still queued
	// (applyClose will drain). TCP closes once it has left.
	c.set(StateDraining)
	if c.sealed {
		c.shard.drain(c)
	}
}

// Fail fails the connection: a close frame with code and reason, then the
// write side is shut once it has left, and the connection lingers until the
// peer closes. Protocol violations, panics in callbacks and slow consumers
// end this way. On a connection that is closing already, our close frame
// (queued or sent) stays the only one, and its code is what is reported.
// It reports false, doing nothing, for a connection already draining,
// lingering or gone. Event loop only.
func (h *Hub) Fail(c *Conn, code ws.StatusCode, reason string) bool {
	switch c.swap(StateDraining, StateOpen, StateClosing) {
	case StateGone:
		return false
	case StateOpen:
		c.why = &Why{Code: code, Reason: reason}
	}
	_ = c.shard.enqueue(job{kind: opClose, c: c, f: codec.NewCloseFrame(code, reason)})
	return true
}

// Gone records that c's TCP connection has closed (err is the transport's
// reason, nil for our own close). An attached connection leaves the
// registry and its rooms, and Gone returns how it ended with attached
// true; a connection that never opened returns attached false. A second
// call returns attached false. Event loop only.
func (h *Hub) Gone(c *Conn, err error) (why Why, attached bool) {
	prev := State(c.state.Swap(uint32(StateGone)))
	if prev == StateGone {
		return Why{}, false
	}
	s := c.shard
	s.stopTimer(c)
	s.dropBooks(c) // a handshake's partial input may be on them too
	if prev == StateHandshake || c.id == 0 {
		return Why{}, false
	}
	s.detach(c)
	h.unregister(c)
	return h.why(c, prev, err), true
}

// why is how c ended, given the state it was in when TCP closed.
func (h *Hub) why(c *Conn, prev State, err error) Why {
	switch {
	case prev == StateClosing:
		reason := "no close frame from the peer"
		if c.why != nil {
			reason += " after " + c.why.Reason
		}
		return Why{Code: ws.StatusAbnormalClosure, Reason: reason}
	case c.why != nil:
		return *c.why
	case h.stopping.Load():
		return Why{Code: ws.StatusGoingAway, Reason: "server stopped"}
	}
	reason := "connection lost"
	if err != nil {
		reason = err.Error()
	}
	return Why{Code: ws.StatusAbnormalClosure, Reason: reason, Remote: true}
}

// applyClose queues a close frame for c as the last thing it gets, on the
// loop, in order with everything queued for c before. Event loop only.
func (s *Shard) applyClose(o *job) {
	c := o.c
	if c.State() == StateGone {
		return
	}
	if !c.sealed {
		s.chainLast(c, o.f)
		c.sealed = true
		if c.why == nil {
			c.why = o.why
		}
	}
	switch c.State() {
	case StateClosing:
		s.setTimer(c, s.hub.cfg.CloseTimeout)
	case StateDraining:
		s.drain(c)
	}
}

// drain lists c to have its write side shut once its output has left, and
// bounds the wait by CloseTimeout (a client that does not read never takes
// it). Event loop only.
func (s *Shard) drain(c *Conn) {
	if !c.draining {
		c.draining = true
		s.draining = append(s.draining, c)
	}
	s.setTimer(c, s.hub.cfg.CloseTimeout)
}

// checkDraining shuts the write side of every draining connection whose
// output has left the socket, and lets it linger. It runs after each
// flush and tick. Event loop only.
func (s *Shard) checkDraining() {
	keep := s.draining[:0]
	for _, c := range s.draining {
		switch {
		case c.State() != StateDraining:
			c.draining = false
		case c.sock.Buffered() > 0:
			keep = append(keep, c)
		case c.sock.CloseWrite():
			c.draining = false
			c.set(StateLinger)
			s.setTimer(c, s.hub.cfg.LingerTimeout)
		default:
			c.draining = false
			s.closeNow(c)
		}
	}
	clear(s.draining[len(keep):])
	s.draining = keep
}

// expire handles c's deadline. Event loop only.
func (s *Shard) expire(c *Conn) {
	log := s.hub.cfg.Logger
	switch c.State() {
	case StateHandshake:
		if f := s.hub.cfg.HandshakeExpired; f != nil && f(c) {
			return
		}
		log.Info("handshake timeout", "remote", c.sock.RemoteAddr())
	case StateClosing:
		log.Info("close timeout", "id", c.id)
	case StateDraining:
		log.Info("close frame not taken by the peer in time", "id", c.id, "backlog", c.sock.Buffered())
	case StateLinger:
	case StateOpen:
		s.keepalive(c)
		return
	default:
		return
	}
	s.closeNow(c)
}

// closeNow closes c's socket. Event loop only.
func (s *Shard) closeNow(c *Conn) {
	s.stopTimer(c)
	c.sock.Close()
}

// setTimer gives c a deadline d from now, replacing the one it had.
func (s *Shard) setTimer(c *Conn, d time.Duration) {
	s.wheel.Set(&c.timer, time.Now(), d)
	s.armTick()
}

// stopTimer clears c's deadline.
func (s *Shard) stopTimer(c *Conn) { s.wheel.Stop(&c.timer) }
