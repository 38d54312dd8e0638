package hub

import (
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/codec"
)

// Config configures a Hub. Zero fields take the defaults below.
type Config struct {
	// MaxBacklog caps what is queued for one connection that its socket
	// has not taken yet, counted as what it costs (BufferCost); Policy says
	// what happens at the cap. A message is queued while the backlog stays
	// within the cap with it; a connection with nothing queued takes any
	// one message, however large. 0 means DefaultMaxBacklog, negative no
	// cap.
	MaxBacklog int
	// BufferCost is what n bytes cost when the socket keeps them as one
	// piece (its buffer and bookkeeping); the zero model counts bytes.
	// BufferSlack is
	// added to the cost of any backlog: what the socket's buffers may cost
	// beyond their pieces (cost.go).
	BufferCost  CostModel
	BufferSlack int
	// MaxBuffered, if positive, is the buffer budget of all connections
	// together: socket backlogs at their cost and partial input reported
	// with Inbound. Past it the largest are closed (budget.go).
	MaxBuffered int
	// CompressionLevel is the compress/flate level of messages sent to
	// connections with permessage-deflate (default codec.BestSpeed), and
	// CompressionMin the smallest payload compressed (default 128 bytes;
	// negative: every one): a message is compressed once, on the first
	// loop that has such a recipient, and shared by all of them.
	CompressionLevel int
	CompressionMin   int
	// Policy is the slow-client policy (default PolicyClose).
	Policy SlowPolicy
	// FlushInterval, if positive, holds each loop's queued writes for up
	// to this long so that more of them share a write. Zero writes at the
	// end of the loop's current step.
	FlushInterval time.Duration
	// HandshakeTimeout bounds StateHandshake (default 5 s).
	HandshakeTimeout time.Duration
	// CloseTimeout bounds StateClosing (the wait for the peer's close
	// frame) and StateDraining (the wait for the socket to take our last
	// bytes). Default 5 s.
	CloseTimeout time.Duration
	// LingerTimeout bounds StateLinger (default 2 s).
	LingerTimeout time.Duration
	// Tick is the resolution of the per-loop timers (default 100 ms).
	Tick time.Duration
	// PingInterval, IdleTimeout and MessageTimeout are the keepalive of
	// open connections (see keepalive.go); zero or negative: off.
	PingInterval, IdleTimeout, MessageTimeout time.Duration
	// NodeID goes in the top 16 bits of every connection ID, so that IDs
	// are unique across servers with distinct node IDs (a cluster).
	NodeID uint16
	// OnRoomInterest, if set, is called when a room gets its first member
	// in this hub or loses its last, on the loop that applied the join or
	// leave, after the count changed (Members tells which); it must not
	// block. Calls for one room may come from different loops, and so out
	// of order: the callee reads Members rather than trusting the order.
	OnRoomInterest func(room string)
	// HandshakeExpired, if set, is asked first when a handshake times out;
	// true means it dealt with the connection (an answer is on its way).
	HandshakeExpired func(c *Conn) bool
	// Logger gets timeouts and slow-consumer closes. Default: discard.
	Logger *slog.Logger
}

// DefaultMaxBacklog is the default cap on the bytes queued for one
// connection that its socket has not taken yet.
const DefaultMaxBacklog = 4 << 20

// DefaultCompressionMin is the default smallest payload compressed: under
// it, deflate saves a few bytes at best.
const DefaultCompressionMin = 128

func (cfg *Config) fill() {
	defaults := []struct {
		d   *time.Duration
		def time.Duration
	}{
		{&cfg.HandshakeTimeout, 5 * time.Second},
		{&cfg.CloseTimeout, 5 * time.Second},
		{&cfg.LingerTimeout, 2 * time.Second},
		{&cfg.Tick, 100 * time.Millisecond},
	}
	for _, d := range defaults {
		if *d.d <= 0 {
			*d.d = d.def
		}
	}
	switch {
	case cfg.MaxBacklog == 0:
		cfg.MaxBacklog = DefaultMaxBacklog
	case cfg.MaxBacklog < 0:
		cfg.MaxBacklog = int(^uint(0) >> 1)
	}
	if cfg.CompressionLevel == 0 {
		cfg.CompressionLevel = codec.BestSpeed
	}
	switch {
	case cfg.CompressionMin == 0:
		cfg.CompressionMin = DefaultCompressionMin
	case cfg.CompressionMin < 0:
		cfg.CompressionMin = 0
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

const idBuckets = 64

// Hub is the registry of connections and their outbound path. Create it
// with New.
type Hub struct {
	cfg    Config
	idBase uint64 // NodeID in the top 16 bits

	mu       sync.Mutex               // serialises the writers of shards
	shards   atomic.Pointer[[]*Shard] // copy-on-write list of all shards
	count    atomic.Int64             // attached connections
	stopping atomic.Bool              // Stop ran: disconnects are the server's
	ids      [idBuckets]idBucket      // ID -> Conn
	rooms    [roomBuckets]roomBucket  // room -> member count

	dropped    atomic.Int64 // messages dropped by the drop policies
	slowClosed atomic.Int64 // connections closed by PolicyClose
	budgetShed atomic.Int64 // connections closed for the buffer budget
	buffered   atomic.Int64 // what the shards hold in buffers (budget.go)
	timedOut   atomic.Int64 // connections closed by IdleTimeout or MessageTimeout
}

type idBucket struct {
	mu sync.RWMutex
	m  map[uint64]*Conn
}

// New returns a hub with cfg.
func New(cfg Config) *Hub {
	cfg.fill()
	return &Hub{cfg: cfg, idBase: uint64(cfg.NodeID) << 48}
}

// shardFor returns the shard of a loop, creating it on first use.
func (h *Hub) shardFor(loop Loop) *Shard {
	if s := h.find(loop); s != nil {
		return s
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.find(loop); s != nil { // made meanwhile
		return s
	}
	s := newShard(h, loop)
	list := append(append([]*Shard(nil), h.list()...), s)
	h.shards.Store(&list)
	return s
}

// find returns the shard of loop, or nil.
func (h *Hub) find(loop Loop) *Shard {
	for _, s := range h.list() {
		if s.loop == loop {
			return s
		}
	}
	return nil
}

// list returns the shards created so far; the slice must not be modified.
func (h *Hub) list() []*Shard {
	if p := h.shards.Load(); p != nil {
		return *p
	}
	return nil
}

// Stop marks the hub as stopping (disconnects from now on are reported as
// the server's 1001) and stops every loop's timers. Safe from any
// goroutine; the loops stop on their own.
func (h *Hub) Stop() {
	h.stopping.Store(true)
	for _, s := range h.list() {
		s.stop()
	}
}

// SetHandshakeExpired sets Config.HandshakeExpired, for an owner that
// needs the hub to make it. Call before any connection opens.
func (h *Hub) SetHandshakeExpired(f func(c *Conn) bool) { h.cfg.HandshakeExpired = f }

// SetRoomInterest sets Config.OnRoomInterest, for an owner that learns it
// after the hub is made. Call before any connection opens.
func (h *Hub) SetRoomInterest(f func(room string)) { h.cfg.OnRoomInterest = f }

// Stopping marks the hub as stopping without stopping its timers: the
// connections still close through their handshakes. Safe from any goroutine.
func (h *Hub) Stopping() { h.stopping.Store(true) }

func (h *Hub) register(c *Conn) {
	b := &h.ids[c.id%idBuckets]
	b.mu.Lock()
	if b.m == nil {
		b.m = make(map[uint64]*Conn)
	}
	b.m[c.id] = c
	b.mu.Unlock()
	h.count.Add(1)
}

func (h *Hub) unregister(c *Conn) {
	b := &h.ids[c.id%idBuckets]
	b.mu.Lock()
	delete(b.m, c.id)
	b.mu.Unlock()
	h.count.Add(-1)
}

// Len returns the number of attached connections. Safe from any goroutine.
func (h *Hub) Len() int { return int(h.count.Load()) }

// Get returns the attached connection with the given ID. Safe from any
// goroutine.
func (h *Hub) Get(id uint64) (*Conn, bool) {
	b := &h.ids[id%idBuckets]
	b.mu.RLock()
	c := b.m[id]
	b.mu.RUnlock()
	return c, c != nil
}

// Range calls fn for every attached connection until fn returns false. It
// sees a snapshot taken one bucket at a time: connections attached or
// detached meanwhile may or may not be visited. Safe from any goroutine;
// no lock is held while fn runs.
func (h *Hub) Range(fn func(*Conn) bool) {
	var batch []*Conn
	for i := range h.ids {
		b := &h.ids[i]
		b.mu.RLock()
		for _, c := range b.m {
			batch = append(batch, c)
		}
		b.mu.RUnlock()
		for _, c := range batch {
			if !fn(c) {
				return
			}
		}
		clear(batch)
		batch = batch[:0]
	}
}

// Send queues one message for c, after everything queued for c before.
// Safe from any goroutine.
func (h *Hub) Send(c *Conn, op ws.OpCode, payload []byte) error {
	if err := admit(op, len(payload)); err != nil {
		return err
	}
	return send(c, op, payload)
}

// SendTo queues one message for the connection with the given ID.
// Safe from any goroutine.
func (h *Hub) SendTo(id uint64, op ws.OpCode, payload []byte) error {
	if err := admit(op, len(payload)); err != nil {
		return err
	}
	c, ok := h.Get(id)
	if !ok {
		return ErrNotFound
	}
	return send(c, op, payload)
}

// send queues an admitted message for c.
func send(c *Conn, op ws.OpCode, payload []byte) error {
	if err := c.sendErr(); err != nil {
		return err
	}
	return c.shard.enqueue(job{kind: opSend, c: c, f: codec.NewFrame(op, payload)})
}

// Broadcast sends one message to every attached connection but except
// (may be nil), encoded once and shared by every loop. Safe from any
// goroutine.
func (h *Hub) Broadcast(op ws.OpCode, payload []byte, except *Conn) error {
	return h.fanOut(opBroadcast, "", except, op, payload)
}

// fanOut encodes one frame and hands one reference of it to every shard.
func (h *Hub) fanOut(kind jobKind, room string, except *Conn, op ws.OpCode, payload []byte) error {
	if err := admit(op, len(payload)); err != nil {
		return err
	}
	shards := h.list()
	if len(shards) == 0 {
		return nil
	}
	f := codec.NewFrame(op, payload)
	f.Retain(int32(len(shards) - 1))
	var err error
	for _, s := range shards {
		if e := s.enqueue(job{kind: kind, c: except, f: f, room: room}); e != nil && err == nil {
			err = e
		}
	}
	return err
}
