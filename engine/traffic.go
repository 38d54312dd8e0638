package engine

import (
	"errors"
	"net"

	"github.com/panjf2000/gnet/v2"

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
		// A control frame is still arriving (data frames are taken as they
		// come): nothing to do until all of it is here.
		s.hub.Read(&c.hc, true)
		s.reportInbound(c)
		return
	}
	buf, _ := gc.Peek(-1)
	used := 0
	if c.hc.State() == hub.StateHandshake && s.opts.ProxyProtocol && !c.proxied {
		if used = s.proxyHeader(c, buf); used == 0 {
			return // need more, or closed
		}
	}
	if c.hc.State() == hub.StateHandshake {
		n := s.handshake(c, buf[used:])
		used += n
		if n == 0 && c.hc.State() == hub.StateHandshake {
			discard(gc, used) // need more
			s.reportInbound(c)
			return
		}
	}
	if reading(c) {
		used += s.frames(c, buf[used:])
		s.hub.Read(&c.hc, used < len(buf) || c.dec.Fragmented())
	} else {
		used = len(buf)
	}
	discard(gc, used)
	s.reportInbound(c)
}

// inputRing is what gnet's input ring costs for what it holds.
var inputRing = hub.CostModel{Pow2: true}

// reportInbound tells the buffer budget (Options.MaxBuffered) what c holds
// of input not yet complete: the part of a frame in gnet's input buffer (a
// ring whose size is a power of two) and a fragmented message's reassembly.
// Small amounts are not reported, and cost no more than this check.
func (s *Server) reportInbound(c *Conn) {
	if s.opts.MaxBuffered <= 0 {
		return
	}
	n := c.dec.Buffered() + inputRing.Cost(c.sock.gc.InboundBuffered())
	if n >= hub.InboundMin || c.inTracked {
		c.inTracked = n >= hub.InboundMin
		s.hub.Inbound(&c.hc, n)
	}
}

// discard drops n consumed bytes; gnet's Discard(0) would drop them all.
func discard(gc gnet.Conn, n int) {
	if n > 0 {
		_, _ = gc.Discard(n)
	}
}

// proxyHeader reads the PROXY protocol header that starts the connection
// (Options.ProxyProtocol) and takes the client's address from it. It
// returns the bytes consumed, 0 while the header is incomplete; a
// connection without a valid header is closed.
func (s *Server) proxyHeader(c *Conn, b []byte) int {
	h, n, err := codec.ParseProxyHeader(b)
	if err != nil {
		s.log.Info("bad PROXY protocol header", "remote", c.remote, "err", err)
		s.endHandshake(c)
		c.sock.Close()
		return 0
	}
	if n == 0 {
		return 0
	}
	c.proxied = true
	if !h.Local {
		c.remote = net.TCPAddrFromAddrPort(h.Source)
		c.client = h.Source.Addr().Unmap()
	}
	return n
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
