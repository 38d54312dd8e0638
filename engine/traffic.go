package engine

import (
	"errors"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/wshub/wshub/codec"
)

// lingerTimeout bounds how long a refused or failed connection is kept
// half-closed so that the peer reads our last bytes before TCP goes away.
const lingerTimeout = 2 * time.Second

// traffic handles OnTraffic: the request head while handshaking, then frames.
// It peeks at everything buffered and discards exactly what it consumed.
func (s *Server) traffic(c *Conn) gnet.Action {
	gc := c.Socket()
	if need := c.dec.Need(); need > 0 && c.state <= stateClosing && gc.InboundBuffered() < need {
		// A large frame is still arriving: peeking at it now would copy
		// everything buffered so far, once per read.
		return gnet.None
	}
	buf, _ := gc.Peek(-1)
	used := 0
	action := gnet.None
	if c.state == stateHandshake {
		n, act := s.handshake(c, buf)
		if n == 0 && act == gnet.None {
			return gnet.None // need more
		}
		used, action = n, act
	}
	switch c.state {
	case stateOpen, stateClosing:
		n, act := s.frames(c, buf[used:])
		used += n
		if act != gnet.None {
			action = act
		}
	default: // closed or lingering: input is not read any more
		used = len(buf)
	}
	if used > 0 { // gnet's Discard(0) would drop the whole buffer
		_, _ = gc.Discard(used)
	}
	return action
}

// frames decodes and dispatches frames from b, returning the bytes consumed.
func (s *Server) frames(c *Conn, b []byte) (int, gnet.Action) {
	used := 0
	for c.state == stateOpen || c.state == stateClosing {
		m, n, err := c.dec.Decode(b[used:])
		used += n
		if err != nil {
			s.fail(c, err)
			return len(b), gnet.None
		}
		if m.OpCode == 0 {
			break
		}
		if act := s.message(c, &m); act != gnet.None {
			return len(b), act
		}
	}
	return used, gnet.None
}

// message handles one decoded message or control frame.
func (s *Server) message(c *Conn, m *codec.Message) gnet.Action {
	if s.debug {
		s.log.Debug("frame", "id", c.ID(), "op", m.OpCode, "len", len(m.Payload))
	}
	switch m.OpCode {
	case ws.OpText, ws.OpBinary:
		if c.state == stateOpen {
			s.onMessage(c, m.OpCode, m.Payload)
		}
	case ws.OpPing:
		if c.state == stateOpen {
			_ = s.hub.Send(c, ws.OpPong, m.Payload)
		}
	case ws.OpClose:
		return s.peerClose(c, m)
	}
	return gnet.None
}

// peerClose answers the peer's close frame. If we started the handshake,
// it is complete and TCP closes now; otherwise we echo the code and close
// TCP once the echo is written (the server closes first, RFC 6455 §7.1.1).
func (s *Server) peerClose(c *Conn, m *codec.Message) gnet.Action {
	if c.state == stateClosing {
		c.state = stateClosed
		s.untime(c)
		return gnet.Close
	}
	c.state = stateClosed
	c.why = &CloseError{Code: m.CloseCode, Reason: m.CloseReason, Remote: true}
	code := m.CloseCode
	if code == ws.StatusNoStatusRcvd {
		code = 0 // answer with an empty close frame
	}
	_ = s.hub.SendLast(c, codec.NewCloseFrame(code, ""), func() { s.shut(c, false) })
	return gnet.None
}

// fail fails the connection on a protocol violation: close frame with the
// RFC code, then TCP close after a short linger.
func (s *Server) fail(c *Conn, err error) {
	code, reason := ws.StatusProtocolError, err.Error()
	var pe *codec.ProtocolError
	if errors.As(err, &pe) {
		code, reason = pe.Code, pe.Reason
	}
	s.log.Info("protocol error", "id", c.ID(), "remote", c.remote, "code", int(code), "err", reason)
	c.state = stateClosed
	c.why = &CloseError{Code: code, Reason: reason}
	_ = s.hub.SendLast(c, codec.NewCloseFrame(code, reason), func() { s.shut(c, true) })
}

// shut closes c's TCP connection. With linger, and when everything has
// been written, it shuts the write side only and reads until the peer's EOF
// (or lingerTimeout), so that our last bytes are not lost to a reset.
// Event loop only, outside OnTraffic.
func (s *Server) shut(c *Conn, linger bool) {
	if linger && s.lingerClose(c) {
		return
	}
	_ = c.Socket().EventLoop().Close(c.Socket())
}

// lingerClose shuts c's write side and reads until the peer's EOF or
// lingerTimeout, so that the bytes already written reach the peer instead
// of being lost to a reset. It reports false, having done nothing, when
// gnet still buffers output (shutting down now would cut it off) or the
// shutdown fails; the caller then closes outright. Event loop only.
func (s *Server) lingerClose(c *Conn) bool {
	gc := c.Socket()
	if gc.OutboundBuffered() != 0 || unix.Shutdown(gc.Fd(), unix.SHUT_WR) != nil {
		return false
	}
	c.state = stateLinger
	s.timeout(c, lingerTimeout)
	return true
}
