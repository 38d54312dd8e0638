package engine

import (
	"errors"

	"github.com/wshub/wshub/codec"
	"github.com/wshub/wshub/internal/hub"
)

// traffic handles OnTraffic: the request head while handshaking, then
// frames while the connection reads them (open, or closing and waiting for
// the peer's close frame); after that, input is dropped. It peeks at
// everything buffered and discards exactly what it consumed.
func (s *Server) traffic(c *Conn) {
	gc := c.sock.gc
	if need := c.dec.Need(); need > 0 && reading(c) && gc.InboundBuffered() < need {
		// A large frame is still arriving: peeking at it now would copy
		// everything buffered so far, once per read.
		s.hub.Read(&c.hc, true)
		return
	}
	buf, _ := gc.Peek(-1)
	used := 0
	if c.hc.State() == hub.StateHandshake {
		used = s.handshake(c, buf)
		if used == 0 && c.hc.State() == hub.StateHandshake {
			return // need more
		}
	}
	if reading(c) {
		used += s.frames(c, buf[used:])
		s.hub.Read(&c.hc, used < len(buf) || c.dec.Fragmented())
	} else if c.upgrade == nil {
		used = len(buf)
	}
	if used > 0 { // gnet's Discard(0) would drop the whole buffer
		_, _ = gc.Discard(used)
	}
}

// reading reports whether c's input is decoded as frames.
func reading(c *Conn) bool {
	st := c.hc.State()
	return st == hub.StateOpen || st == hub.StateClosing
}

// frames decodes and dispatches frames from b, returning the bytes consumed.
func (s *Server) frames(c *Conn, b []byte) int {
	used := 0
	for reading(c) {
		m, n, err := c.dec.Decode(b[used:])
		used += n
		if err != nil {
			s.fail(c, err)
			return len(b)
		}
		if m.OpCode == 0 {
			break
		}
		s.message(c, &m)
	}
	return used
}

// message handles one decoded message or control frame. Once the
// connection is closing, only the peer's close frame matters.
func (s *Server) message(c *Conn, m *codec.Message) {
	if s.debug {
		s.log.Debug("frame", "id", c.ID(), "op", m.OpCode, "len", len(m.Payload))
	}
	open := c.hc.State() == hub.StateOpen
	switch m.OpCode {
	case OpText, OpBinary:
		if open {
			s.onMessage(c, m.OpCode, m.Payload)
		}
	case OpPing:
		if open {
			_ = s.hub.Send(&c.hc, OpPong, m.Payload)
		}
	case OpPong:
		if open {
			s.onPong(c, m.Payload, s.hub.Pong(&c.hc, m.Payload))
		}
	default: // close
		s.hub.PeerClosed(&c.hc, m.CloseCode, m.CloseReason)
	}
}

// fail fails the connection on a protocol violation with the RFC's close
// code (1002, 1007 or 1009).
func (s *Server) fail(c *Conn, err error) {
	code, reason := StatusProtocolError, err.Error()
	var pe *codec.ProtocolError
	if errors.As(err, &pe) {
		code, reason = pe.Code, pe.Reason
	}
	s.log.Info("protocol error", "id", c.ID(), "remote", c.remote, "code", int(code), "err", reason)
	s.hub.Fail(&c.hc, code, reason)
}
