package engine

import (
	"bytes"
	"context"
	"net"
	"runtime"
	"strconv"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/wshub/wshub/internal/hub"
)

// events is the gnet event handler. Every method runs on an event loop;
// each brackets its work with the shard's Enter and Leave, so
// that what the callbacks queue is written at the end of the step, without
// waking the loop.
type events struct {
	gnet.BuiltinEventEngine
	s *Server
}

func (e *events) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	s := e.s
	l := s.loopFor(gc.EventLoop())
	if ln, ok := gc.Context().(*lane); ok {
		l.lane = ln // every socket of a loop comes with the same lane
		ln.open.Add(1)
	}
	c := &Conn{srv: s, remote: gc.RemoteAddr()}
	if ta, ok := c.remote.(*net.TCPAddr); ok {
		c.client = ta.AddrPort().Addr().Unmap()
	}
	c.sock.gc = gc
	c.dec.MaxMessage = s.opts.MaxMessage
	gc.SetContext(c)
	if l.goid.Load() == 0 {
		l.goid.Store(goid()) // OnOpen runs on the loop's goroutine
	}
	s.handshaking.Add(1)
	c.handshaking = true
	s.hub.Open(&c.hc, l, &c.sock, c)
	return nil, gnet.None
}

func (e *events) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*Conn)
	if !ok {
		return gnet.Close
	}
	sh := c.hc.Shard()
	sh.Enter()
	c.sock.inTraffic = true
	c.srv.traffic(c)
	sh.Leave()
	c.sock.inTraffic = false
	if c.sock.closeAfter {
		return gnet.Close
	}
	return gnet.None
}

func (e *events) OnClose(gc gnet.Conn, err error) gnet.Action {
	if ln := e.s.loopFor(gc.EventLoop()).lane; ln != nil {
		ln.open.Add(-1)
	}
	if c, ok := gc.Context().(*Conn); ok {
		sh := c.hc.Shard()
		sh.Enter()
		c.srv.closed(c, err)
		sh.Leave()
	}
	return gnet.None
}

// closed runs on gnet's OnClose.
func (s *Server) closed(c *Conn, err error) {
	c.dec.Reset()
	if u := c.upgrade; u != nil {
		u.move(phaseWaiting, phaseExpired) // a decision now gets ErrDecided
		c.upgrade = nil
	}
	s.endHandshake(c)
	s.unreserve(c)
	why, attached := s.hub.Gone(&c.hc, err)
	if !attached {
		return
	}
	by := "server"
	if why.Remote {
		by = "peer"
	}
	s.log.Info("disconnect", "id", c.ID(), "remote", c.remote, "code", int(why.Code), "reason", why.Reason, "by", by)
	s.onDisconnect(c, &CloseError{Code: why.Code, Reason: why.Reason, Remote: why.Remote})
}

// loop adapts a gnet event loop to hub.Loop.
type loop struct {
	el   gnet.EventLoop
	goid atomic.Uint64 // the loop's goroutine, once it has run a callback
	lane *lane         // set by the first OnOpen; read and written on the loop only
}

func (l *loop) Execute(t hub.Task) error { return l.el.Execute(context.Background(), t) }

// loopFor returns the adapter of a gnet loop, made once per loop.
func (s *Server) loopFor(el gnet.EventLoop) *loop {
	if l, ok := s.loops.Load(el); ok {
		return l.(*loop)
	}
	l, _ := s.loops.LoadOrStore(el, &loop{el: el})
	return l.(*loop)
}

// onLoop reports whether the caller runs on one of the server's event loops
// (in a callback). Only Stop asks: it cannot wait for its own loop.
func (s *Server) onLoop() bool {
	me, found := goid(), false
	s.loops.Range(func(_, l any) bool {
		found = l.(*loop).goid.Load() == me
		return !found
	})
	return found
}

// goid returns the calling goroutine's ID, from the first line of its stack
// ("goroutine 18 [running]:"). Go has no API for it; the format is the
// one the runtime has always printed, and only Stop needs it.
func goid() uint64 {
	var buf [64]byte
	b := bytes.TrimPrefix(buf[:runtime.Stack(buf[:], false)], []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}

// socket adapts a gnet connection to hub.Socket. Event loop only.
type socket struct {
	gc         gnet.Conn
	inTraffic  bool // in this connection's OnTraffic: gnet closes it on return
	closeAfter bool // Close was asked during OnTraffic
}

func (k *socket) Write(b []byte) (int, error)     { return k.gc.Write(b) }
func (k *socket) Writev(bs [][]byte) (int, error) { return k.gc.Writev(bs) }
func (k *socket) Buffered() int                   { return k.gc.OutboundBuffered() }
func (k *socket) RemoteAddr() net.Addr            { return k.gc.RemoteAddr() }

func (k *socket) CloseWrite() bool { return unix.Shutdown(k.gc.Fd(), unix.SHUT_WR) == nil }

// Close closes the connection now, or, inside its own OnTraffic, when
// OnTraffic returns (gnet must not release a connection under its reader).
func (k *socket) Close() {
	if k.inTraffic {
		k.closeAfter = true
		return
	}
	_ = k.gc.EventLoop().Close(k.gc)
}
