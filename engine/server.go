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

	"github.com/wshub/wshub/internal/hub"
)

// Handler receives a WebSocket route's events. Nil fields are skipped. The
// callbacks run on the connection's event loop and must not block.
type Handler struct {
	// Protocols are the subprotocols the route speaks, in its order of
	// preference: the first of them that the client offers is chosen
	// (RFC 6455 §4.2.2), unless OnUpgrade chooses. None offered in common:
	// the 101 names no subprotocol (browsers then fail the connection if
	// they asked for one; OnUpgrade may refuse instead).
	Protocols []string
	// OnUpgrade, if set, decides on each opening handshake before it is
	// answered, after the origin check and the connection limits: see
	// Upgrade. It may decide later, from any goroutine.
	OnUpgrade func(u *Upgrade)
	// OnConnect runs after the opening handshake, before any message.
	// What it queues (a room join, a welcome message) is in place before
	// the client learns it is connected.
	OnConnect func(c *Conn)
	// OnMessage runs for every complete text or binary message. payload is
	// valid only until it returns.
	OnMessage func(c *Conn, op OpCode, payload []byte)
	// OnPong runs for every pong from the peer; rtt is the round trip of
	// the server's ping it answers (see WithPingInterval), 0 for a pong
	// that answers none. payload is valid only until it returns.
	OnPong func(c *Conn, payload []byte, rtt time.Duration)
	// OnDisconnect runs once when the connection is gone; err is a
	// *CloseError (see CloseStatus).
	OnDisconnect func(c *Conn, err error)
	// Compression negotiates permessage-deflate (RFC 7692) with the
	// clients that offer it (every browser does); off when its zero value.
	// OnUpgrade sees the outcome (Upgrade.Compression) and may turn it off
	// for one connection (AcceptOptions.NoCompression).
	Compression Compression
	// KeepRequest keeps the whole upgrade request with each connection, so
	// that Conn.Request has its headers after OnConnect. By default only
	// the request line is kept past OnConnect (a browser's head, cookies
	// included, is 0.5 to several KB per connection): take what is needed
	// from the headers in OnUpgrade or OnConnect.
	KeepRequest bool
}

// Compression configures permessage-deflate on a route.
//
// The server never keeps a compression context across messages: it
// answers server_no_context_takeover, so that a message is compressed once
// and the same frame goes to every compressed recipient of a broadcast,
// a room publish or a send. By default it asks the same of the client
// (client_no_context_takeover), so that receiving needs no state between
// messages: an idle compressed connection costs no more than a plain one,
// and inflating uses pooled state. Compressed input is capped at
// MaxMessage once inflated, checked while inflating (1009), and text is
// validated as it inflates (1007).
type Compression struct {
	// Enabled turns negotiation on.
	Enabled bool
	// ClientWindowBits (8-15) lets clients keep their compression context
	// across messages, for a better ratio on chatty streams: a client that
	// offers client_max_window_bits (Chromium does) gets this window, or
	// its own if smaller; one that offers no bound (Firefox) gets to keep
	// its context only when this is 15; other values mean 0. The cost
	// of 2^ClientWindowBits bytes kept per connection from its first
	// compressed message on, outside the buffer budget, and a copy of the
	// window per message received (see codec.DeflateConfig). 0: no client
	// context.
	ClientWindowBits int
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
	lim   limits
	perIP ipCounter

	ws   map[string]*Handler
	http map[string]http.Handler

	life      sync.Mutex // serialises Start and Stop
	state     atomic.Int32
	lanes     lanes
	acc       acceptor
	addr      net.Addr
	accepting chan struct{} // closed when the accept goroutines have returned
	done      chan struct{} // closed when the server has stopped
	runErr    error         // why it stopped, when it was not Stop
	fatalOnce sync.Once

	handshaking atomic.Int64 // sockets whose handshake is in progress
	opened      atomic.Int64 // connections past the handshake, for MaxConns
	stats       counters

	loops sync.Map // gnet.EventLoop -> *loop, its adapter
}

// counters are the engine's part of Stats.
type counters struct {
	refused, shed, acceptErrors atomic.Int64
}

// New returns a server with the given options and no routes.
func New(opts ...Option) *Server {
	o := loadOptions(opts)
	s := &Server{
		opts:  o,
		log:   o.Logger,
		debug: o.Logger.Enabled(context.Background(), slog.LevelDebug),
		hub: hub.New(hub.Config{
			MaxBacklog:       o.MaxBacklog,
			BufferCost:       hub.CostModel{Pow2: true, Node: gnetNodeSize},
			BufferSlack:      2 * writeBufferCap,
			MaxBuffered:      o.MaxBuffered,
			NodeID:           o.NodeID,
			CompressionLevel: o.CompressionLevel,
			CompressionMin:   o.CompressionMin,
			Policy:           hub.SlowPolicy(o.SlowPolicy),
			FlushInterval:    o.FlushInterval,
			HandshakeTimeout: o.HandshakeTimeout,
			CloseTimeout:     o.CloseTimeout,
			LingerTimeout:    lingerTimeout,
			PingInterval:     o.PingInterval,
			IdleTimeout:      o.IdleTimeout,
			MessageTimeout:   o.MessageTimeout,
			Logger:           o.Logger,
		}),
		ws:   make(map[string]*Handler),
		http: make(map[string]http.Handler),
	}
	s.hub.SetHandshakeExpired(func(hc *hub.Conn) bool { return s.expireUpgrade(conn(hc)) })
	return s
}

// lingerTimeout bounds how long a closed or refused connection is kept
// half-closed so that the peer reads our last bytes before TCP goes away.
const lingerTimeout = 2 * time.Second

// Handle serves WebSocket connections on path with h. Call before Start.
// path is matched against the request's path as sent, without decoding
// percent-escapes.
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
	if err := s.listen(addr); err != nil {
		s.state.Store(stateStopped)
		return fmt.Errorf("engine: listen on %s: %w", addr, err)
	}
	s.done = make(chan struct{})
	s.accepting = make(chan struct{})
	go s.serve()
	return nil
}

// listen binds addr and starts the event loops.
func (s *Server) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if err := s.lanes.start(s, s.opts.Loops); err != nil {
		_ = ln.Close()
		return err
	}
	s.addr = ln.Addr()
	s.acc = acceptor{ln: ln.(*net.TCPListener), bucket: tokenBucket{rate: s.opts.AcceptRate, tokens: s.opts.AcceptRate, last: time.Now()}}
	s.lim = s.limits()
	s.perIP.max = s.opts.MaxConnsPerIP
	s.log.Info("listening", "addr", s.addr, "loops", s.opts.Loops, "max_conns", s.lim.maxConns,
		"fd_budget", s.lim.fdCap, "max_handshakes", s.lim.maxHandshakes)
	return nil
}

// ListenAndServe is Start followed by waiting until the server stops. It
// returns nil after Stop, or the error that stopped the server: a listener
// or event loop that failed for good.
func (s *Server) ListenAndServe(addr string) error {
	if err := s.Start(addr); err != nil {
		return err
	}
	return s.Wait()
}

// Wait blocks until the server has stopped and returns what
// ListenAndServe returns. Safe from any goroutine, after Start.
func (s *Server) Wait() error {
	<-s.done
	return s.runErr
}

// fatal stops the server after a failure it cannot serve through: the
// clients get 1012 (service restart) so that they reconnect elsewhere or
// later, and Wait and ListenAndServe return err.
func (s *Server) fatal(err error) {
	s.fatalOnce.Do(func() {
		s.log.Error("server failed, stopping", "err", err)
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.CloseTimeout+lingerTimeout+time.Second)
		defer cancel()
		_ = s.stop(ctx, err)
	})
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

// WatchRooms makes fn run whenever a room gets its first member on this
// server or loses its last: on the event loop that applied the Join or
// Leave, after Members changed, so fn must not block. Calls for one room
// may come from different loops, out of order: fn reads Members for the
// current state (a cluster adapter subscribes to a room while it has
// members here). Call it before Start, like Handle.
func (s *Server) WatchRooms(fn func(room string)) { s.hub.SetRoomInterest(fn) }

// NodeID returns Options.NodeID, the top 16 bits of every connection ID.
func (s *Server) NodeID() uint16 { return s.opts.NodeID }

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
func (s *Server) Stats() Stats {
	h := s.hub.Stats()
	return Stats{
		Connections:  h.Connections,
		Handshaking:  int(s.handshaking.Load()),
		Dropped:      h.Dropped,
		SlowClosed:   h.SlowClosed,
		Refused:      s.stats.refused.Load(),
		Shed:         s.stats.shed.Load(),
		AcceptErrors: s.stats.acceptErrors.Load(),
		TimedOut:     h.TimedOut,
		BudgetShed:   h.BudgetShed,
		Buffered:     s.hub.Buffered(),
	}
}

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
	return s.stop(ctx, nil)
}

// stop is Stop; cause is why the server stops, nil for Stop.
func (s *Server) stop(ctx context.Context, cause error) error {
	s.life.Lock()
	defer s.life.Unlock()
	if !s.state.CompareAndSwap(stateRunning, stateDraining) {
		return ErrNotRunning
	}
	s.log.Info("stopping", "connections", s.Len())
	code, reason := StatusGoingAway, "server shutting down"
	if cause != nil {
		code, reason = StatusServiceRestart, "server failed"
	}
	s.hub.Stopping()
	s.closeAll(code, reason)
	err := s.waitDrained(ctx, time.Now().Add(s.opts.CloseTimeout+lingerTimeout+time.Second), code, reason)
	_ = s.acc.ln.Close()
	<-s.accepting
	stopped := make(chan struct{})
	go func() { s.lanes.stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	s.hub.Stop()
	s.runErr = cause
	s.state.Store(stateStopped)
	close(s.done)
	return err
}

// closeAll starts the closing handshake on every open connection;
// connections already closing are left alone.
func (s *Server) closeAll(code StatusCode, reason string) {
	s.Range(func(c *Conn) bool {
		_ = c.Close(code, reason)
		return true
	})
}

// waitDrained waits until no connection is left, deadline passes or ctx
// ends. It repeats closeAll now and then for connections whose handshake
// completed while Stop began.
func (s *Server) waitDrained(ctx context.Context, deadline time.Time, code StatusCode, reason string) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for i := 1; s.Len() > 0 && time.Now().Before(deadline); i++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if i%50 == 0 {
			s.closeAll(code, reason)
		}
	}
	return nil
}
