package engine

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/wshub/wshub/internal/hub"
)

// Handler receives a WebSocket route's events. Nil fields are skipped. All
// three run on the connection's event loop and must not block.
type Handler struct {
	// OnConnect runs after the opening handshake, before any message.
	// What it queues (a room join, a welcome message) is in place before
	// the client learns it is connected.
	OnConnect func(c *Conn)
	// OnMessage runs for every complete text or binary message. payload is
	// valid only until it returns.
	OnMessage func(c *Conn, op OpCode, payload []byte)
	// OnDisconnect runs once when the connection is gone; err is a
	// *CloseError (see CloseStatus).
	OnDisconnect func(c *Conn, err error)
}

const (
	stateNew int32 = iota
	stateRunning
	stateDraining
	stateStopped
)

// Server is a WebSocket server. Create it with New, add routes, Start it.
// Its methods are safe from any goroutine, event-loop callbacks included,
// except Handle and HandleHTTP, which come before Start.
type Server struct {
	opts  Options
	log   *slog.Logger
	debug bool // log every frame
	hub   *hub.Hub

	ws   map[string]*Handler
	http map[string]http.Handler

	life   sync.Mutex // serialises Start and Stop
	state  atomic.Int32
	eng    gnet.Engine
	addr   net.Addr
	booted chan struct{}
	done   chan struct{} // closed when gnet.Run returned
	runErr error

	loops sync.Map // gnet.EventLoop -> *loop, its adapter
}

// New returns a server with the given options and no routes.
func New(opts ...Option) *Server {
	o := loadOptions(opts)
	return &Server{
		opts:  o,
		log:   o.Logger,
		debug: o.Logger.Enabled(context.Background(), slog.LevelDebug),
		hub: hub.New(hub.Config{
			MaxBacklog:       o.MaxBacklog,
			Policy:           hub.SlowPolicy(o.SlowPolicy),
			FlushInterval:    o.FlushInterval,
			HandshakeTimeout: o.HandshakeTimeout,
			CloseTimeout:     o.CloseTimeout,
			LingerTimeout:    lingerTimeout,
			Logger:           o.Logger,
		}),
		ws:   make(map[string]*Handler),
		http: make(map[string]http.Handler),
	}
}

// lingerTimeout bounds how long a closed or refused connection is kept
// half-closed so that the peer reads our last bytes before TCP goes away.
const lingerTimeout = 2 * time.Second

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
	s.life.Lock()
	defer s.life.Unlock()
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

// Len returns the number of open WebSocket connections.
func (s *Server) Len() int { return s.hub.Len() }

// Get returns the open connection with the given ID.
func (s *Server) Get(id uint64) (*Conn, bool) {
	hc, ok := s.hub.Get(id)
	if !ok {
		return nil, false
	}
	return conn(hc), true
}

// Range calls fn for every open connection until it returns false. It sees
// a snapshot taken a part at a time: connections opening or closing
// meanwhile may or may not be visited. No lock is held while fn runs.
func (s *Server) Range(fn func(c *Conn) bool) {
	s.hub.Range(func(hc *hub.Conn) bool { return fn(conn(hc)) })
}

// Broadcast sends a message to every open connection (the seed's
// SendToAll), encoded once for all of them. The opcodes are Send's.
func (s *Server) Broadcast(op OpCode, payload []byte) error {
	return s.hub.Broadcast(op, payload, nil)
}

// BroadcastExcept sends a message to every open connection but except (the
// seed's SendToAllExceptOne); a nil except is Broadcast.
func (s *Server) BroadcastExcept(op OpCode, payload []byte, except *Conn) error {
	return s.hub.Broadcast(op, payload, hubConn(except))
}

// SendTo sends a message to the open connection with the given ID, or
// returns ErrNotFound. The opcodes are Send's.
func (s *Server) SendTo(id uint64, op OpCode, payload []byte) error {
	return s.hub.SendTo(id, op, payload)
}

// Publish sends a message to every member of room (see Conn.Join), encoded
// once for all of them. The opcodes are Send's.
func (s *Server) Publish(room string, op OpCode, payload []byte) error {
	return s.hub.Publish(room, op, payload, nil)
}

// PublishExcept sends a message to every member of room but except; a nil
// except is Publish.
func (s *Server) PublishExcept(room string, op OpCode, payload []byte, except *Conn) error {
	return s.hub.Publish(room, op, payload, hubConn(except))
}

// Members returns the number of connections in room.
func (s *Server) Members(room string) int { return s.hub.Members(room) }

// Rooms returns every room that has members, with its member count, sorted
// by name: a snapshot, like Range's.
func (s *Server) Rooms() []Room {
	rooms := s.hub.Rooms()
	out := make([]Room, len(rooms))
	for i, r := range rooms {
		out[i] = Room(r)
	}
	return out
}

// RangeMembers calls fn for every member of room until it returns false: a
// snapshot, like Range's. No lock is held while fn runs.
func (s *Server) RangeMembers(room string, fn func(c *Conn) bool) {
	s.hub.RangeMembers(room, func(hc *hub.Conn) bool { return fn(conn(hc)) })
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats { return Stats(s.hub.Stats()) }

func hubConn(c *Conn) *hub.Conn {
	if c == nil {
		return nil
	}
	return &c.hc
}

// Stop shuts the server down gracefully: new handshakes are refused with
// 503, every client gets close 1001, and once they have all answered (or
// the close timeout passed) the event loops stop. If ctx ends first, Stop
// stops the loops at once (the clients left see TCP close) and returns
// ctx.Err() without waiting for them to finish. Called from a callback,
// whose loop it cannot wait for, Stop starts the same shutdown in the
// background and returns nil at once.
func (s *Server) Stop(ctx context.Context) error {
	if s.onLoop() {
		if s.state.Load() != stateRunning {
			return ErrNotRunning
		}
		go func() { _ = s.Stop(ctx) }()
		return nil
	}
	s.life.Lock()
	defer s.life.Unlock()
	if !s.state.CompareAndSwap(stateRunning, stateDraining) {
		return ErrNotRunning
	}
	s.log.Info("stopping", "connections", s.Len())
	s.closeAll()
	err := s.waitDrained(ctx, time.Now().Add(s.opts.CloseTimeout+lingerTimeout+time.Second))
	s.hub.Stopping()
	// gnet's Engine.Stop polls for the end every 500 ms; given a context
	// that has ended it only starts the shutdown, and Run's return says
	// when it is done.
	started, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.eng.Stop(started)
	select {
	case <-s.done:
		if err == nil {
			err = s.runErr
		}
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	s.hub.Stop()
	s.state.Store(stateStopped)
	return err
}

// closeAll starts the closing handshake with 1001 on every open connection;
// connections already closing are left alone.
func (s *Server) closeAll() {
	s.Range(func(c *Conn) bool {
		_ = c.Close(StatusGoingAway, "server shutting down")
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
