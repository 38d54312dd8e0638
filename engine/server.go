package engine

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/wshub/wshub/hub"
)

// Handler receives a WebSocket route's events. Nil fields are skipped. All
// three run on the connection's event loop and must not block.
type Handler struct {
	// OnConnect runs after the opening handshake, before any message.
	OnConnect func(c *Conn)
	// OnMessage runs for every complete text or binary message. payload is
	// valid only until it returns.
	OnMessage func(c *Conn, op ws.OpCode, payload []byte)
	// OnDisconnect runs once when the connection is gone; err is a
	// *CloseError (see CloseStatus).
	OnDisconnect func(c *Conn, err error)
}

// stopTimeout bounds how long Stop waits for the event loops to exit.
const stopTimeout = 10 * time.Second

const (
	stateNew int32 = iota
	stateRunning
	stateDraining
	stateStopped
)

// Server is a WebSocket server. Create it with New, add routes, Start it.
type Server struct {
	opts  Options
	log   *slog.Logger
	debug bool // log every frame
	hub   hub.Hub

	ws   map[string]*Handler
	http map[string]http.Handler

	state  atomic.Int32
	eng    gnet.Engine
	addr   net.Addr
	booted chan struct{}
	done   chan struct{} // closed when gnet.Run returned
	runErr error
}

// New returns a server with the given options and no routes.
func New(opts ...Option) *Server {
	o := loadOptions(opts)
	s := &Server{
		opts:  o,
		log:   o.Logger,
		debug: o.Logger.Enabled(context.Background(), slog.LevelDebug),
		ws:    make(map[string]*Handler),
		http:  make(map[string]http.Handler),
	}
	s.hub.MaxBacklog = o.MaxBacklog
	s.hub.Policy = o.SlowPolicy
	s.hub.FlushInterval = o.FlushInterval
	s.hub.OnSlow = s.slow
	return s
}

// slow closes a connection that passed its backlog cap under
// hub.PolicyClose: 1008 in OnDisconnect and the log. No close frame can
// reach a client that does not read, so TCP closes at once. Event loop only.
func (s *Server) slow(m hub.Member) {
	c := m.(*Conn)
	if c.state > stateClosing {
		return
	}
	c.state = stateClosed
	c.why = &CloseError{Code: ws.StatusPolicyViolation, Reason: "slow consumer: outbound backlog cap reached"}
	s.log.Info("slow consumer", "id", c.ID(), "remote", c.remote, "backlog", c.Backlog())
	_ = c.Socket().EventLoop().Close(c.Socket())
}

// Handle serves WebSocket connections on path with h. Call before Start.
func (s *Server) Handle(path string, h Handler) {
	s.mustBeNew()
	s.ws[path] = &h
}

// HandleHTTP serves plain HTTP GET and HEAD requests for path with h. The
// handler runs on an event loop and must not block; the response is sent
// with Connection: close. Call before Start.
func (s *Server) HandleHTTP(path string, h http.Handler) {
	s.mustBeNew()
	s.http[path] = h
}

func (s *Server) mustBeNew() {
	if s.state.Load() != stateNew {
		panic("engine: routes must be added before Start")
	}
}

// Start listens on addr ("host:port"; port 0 picks a free one) and serves in
// the background. It returns once the server accepts connections.
func (s *Server) Start(addr string) error {
	if !s.state.CompareAndSwap(stateNew, stateRunning) {
		return ErrRunning
	}
	s.booted = make(chan struct{})
	s.done = make(chan struct{})
	go s.run(addr)
	select {
	case <-s.booted:
		return nil
	case <-s.done:
		s.state.Store(stateStopped)
		return fmt.Errorf("engine: listen on %s: %w", addr, s.runErr)
	}
}

// ListenAndServe is Start followed by waiting until the server stops.
func (s *Server) ListenAndServe(addr string) error {
	if err := s.Start(addr); err != nil {
		return err
	}
	<-s.done
	return s.runErr
}

func (s *Server) run(addr string) {
	defer close(s.done)
	s.runErr = gnet.Run(&events{s: s}, "tcp://"+addr,
		gnet.WithNumEventLoop(s.opts.Loops),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithReuseAddr(true),
		gnet.WithTicker(true),
		gnet.WithLogger(gnetLogger{s.log}),
	)
}

// boot runs on gnet's OnBoot: it learns the bound address.
func (s *Server) boot(eng gnet.Engine) {
	s.eng = eng
	if fd, err := eng.Dup(); err == nil {
		if sa, err := unix.Getsockname(fd); err == nil {
			s.addr = sockaddrToTCP(sa)
		}
		_ = unix.Close(fd)
	}
	s.log.Info("listening", "addr", s.addr, "loops", s.opts.Loops)
	close(s.booted)
}

func sockaddrToTCP(sa unix.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	}
	return nil
}

// Addr returns the address the server listens on (nil before Start).
func (s *Server) Addr() net.Addr { return s.addr }

// Hub returns the server's hub: rooms, targeted sends, counts.
func (s *Server) Hub() *hub.Hub { return &s.hub }

// Len returns the number of open WebSocket connections.
func (s *Server) Len() int { return s.hub.Len() }

// Range calls fn for every open connection until it returns false (see
// hub.Hub.Range for what it sees). Safe from any goroutine.
func (s *Server) Range(fn func(c *Conn) bool) {
	s.hub.Range(func(m hub.Member) bool { return fn(m.(*Conn)) })
}

// Get returns the open connection with the given ID.
func (s *Server) Get(id uint64) (*Conn, bool) {
	m, ok := s.hub.Get(id)
	if !ok {
		return nil, false
	}
	return m.(*Conn), true
}

// Broadcast sends a message to every open connection (the seed's SendToAll).
func (s *Server) Broadcast(op ws.OpCode, payload []byte) error {
	return s.hub.Broadcast(op, payload)
}

// BroadcastExcept sends a message to every open connection but except (the
// seed's SendToAllExceptOne).
func (s *Server) BroadcastExcept(op ws.OpCode, payload []byte, except *Conn) error {
	if except == nil {
		return s.hub.Broadcast(op, payload)
	}
	return s.hub.BroadcastExcept(op, payload, except)
}

// Stop shuts the server down gracefully: new handshakes are refused with
// 503, every client gets close 1001, and once they have all answered (or the
// close timeout or ctx ran out) the event loops stop. It returns ctx.Err() if
// ctx ended first; the loops are stopped either way.
func (s *Server) Stop(ctx context.Context) error {
	if !s.state.CompareAndSwap(stateRunning, stateDraining) {
		return ErrNotRunning
	}
	s.log.Info("stopping", "connections", s.Len())
	s.closeAll()
	err := s.waitDrained(ctx, time.Now().Add(s.opts.CloseTimeout+time.Second))
	// gnet's Engine.Stop polls for the end every 500 ms; Run returns as soon
	// as the loops are down, so wait for that instead.
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- s.eng.Stop(stopCtx) }()
	select {
	case <-s.done:
	case e := <-stopped:
		<-s.done
		if e != nil && err == nil {
			err = e
		}
	}
	s.state.Store(stateStopped)
	if s.runErr != nil && err == nil {
		err = s.runErr
	}
	return err
}

// closeAll starts the closing handshake with 1001 on every open connection;
// connections already closing are left alone.
func (s *Server) closeAll() {
	s.Range(func(c *Conn) bool {
		_ = c.Close(ws.StatusGoingAway, "server shutting down")
		return true
	})
}

// waitDrained waits until no connection is left, deadline passes or ctx
// ends. It repeats closeAll now and then for connections whose handshake
// completed while Stop began.
func (s *Server) waitDrained(ctx context.Context, deadline time.Time) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for i := 1; s.Len() > 0 && time.Now().Before(deadline); i++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if i%50 == 0 {
			s.closeAll()
		}
	}
	return nil
}
