package engine

import (
	"io"
	"log/slog"
	"net/netip"
	"runtime"
	"time"

	"github.com/wshub/wshub/codec"
)

// Options configures a Server. Set them with the With* functions; zero
// fields take the defaults below.
type Options struct {
	// Loops is the number of event loops. Default: one per CPU.
	Loops int
	// MaxMessage caps a message in bytes (all fragments); larger ones close
	// the connection with 1009. Default: codec.DefaultMaxMessage (1 MiB).
	MaxMessage int64
	// MaxHeaderBytes caps the HTTP request head; larger ones get 431.
	// Default: codec.DefaultMaxHeaderBytes (8 KiB).
	MaxHeaderBytes int
	// HandshakeTimeout closes a connection that has not completed its
	// request head in this time. Default: 5 s.
	HandshakeTimeout time.Duration
	// CloseTimeout is how long Close and Stop wait for the peer's close
	// frame before closing TCP. Default: 5 s.
	CloseTimeout time.Duration
	// Origins lists the allowed Origin values besides same-origin requests
	// and requests without an Origin header: full origins
	// ("https://example.com"), bare hosts ("example.com:8080"), or "*" for any.
	Origins []string
	// MaxBacklog caps what is queued for one connection that its socket
	// has not taken yet (a client that does not read), counted at what it
	// costs in memory: gnet keeps each piece in a buffer rounded up to a
	// power of two, so a backlog of 1,028-byte frames reaches the cap at
	// half as many bytes. A message is queued while the backlog stays
	// within the cap with it (a client with nothing queued takes any one
	// message), so N clients at the cap hold at most N times the cap, or
	// one larger message each, plus up to 32 KiB each for gnet's ring.
	// SlowPolicy says what happens then. Default: DefaultMaxBacklog
	// (4 MiB); negative: no cap.
	MaxBacklog int
	// MaxBuffered, if positive, is a budget for what all connections
	// together hold in buffers: their outbound backlogs (at what they cost,
	// as MaxBacklog counts them) and what has arrived of messages not yet
	// complete (64 KiB or more). Past it, connections are closed at once,
	// the largest first, with 1008 (mostly output) or 1009 (mostly
	// input); each event loop sheds only its own, and only while it holds
	// more than its share. Default 0: no budget.
	MaxBuffered int
	// CompressionLevel is the compress/flate level (-2 to 9; outside, the
	// nearest) of messages
	// sent to connections that negotiated permessage-deflate
	// (Handler.Compression): each message is compressed once, by the first
	// event loop with such a recipient, and the compressed frame is shared
	// by all of them. Default 0: BestSpeed (1).
	CompressionLevel int
	// CompressionMin is the smallest payload compressed; smaller ones go
	// out as they are (RFC 7692 §6 lets each message choose). Default 0:
	// 128 bytes; negative: every message.
	CompressionMin int
	// NodeID goes in the top 16 bits of every connection ID: servers with
	// distinct node IDs never give two connections the same ID, so an ID
	// names a connection across a cluster (see package cluster). Default 0.
	NodeID uint16
	// SlowPolicy is PolicyClose (default: close with 1008),
	// PolicyDropNewest or PolicyDropOldest.
	SlowPolicy SlowPolicy
	// FlushInterval, if positive, lets writes wait up to this long so that
	// more of them share one write(2) (e.g. a 16 ms game tick). Default 0:
	// what a callback queues is written when it returns, what other
	// goroutines queue when the loop has drained it.
	FlushInterval time.Duration
	// MaxConns caps the open WebSocket connections; a handshake past it
	// gets 503 with Retry-After. Default: the descriptor budget
	// (RLIMIT_NOFILE less a reserve of 64 + 0.5%) less 1% (at least 32) so
	// that the 503s still find descriptors. Sockets past the descriptor
	// budget, and handshakes past MaxHandshakes, get a canned 503 and are
	// closed at accept, before a loop sees them.
	MaxConns int
	// MaxConnsPerIP caps the open connections from one client address (see
	// TrustedProxies); a handshake past it gets 429 with Retry-After.
	// Default 0: no limit.
	MaxConnsPerIP int
	// MaxHandshakes caps the sockets whose handshake is in progress
	// (including those waiting for a deferred OnUpgrade decision). Default:
	// a quarter of the descriptor budget, between 64 and 4096.
	MaxHandshakes int
	// AcceptRate, if positive, caps new connections per second (bursts of
	// up to AcceptRate); connections over it wait in the kernel's listen
	// queue. Default 0: no cap.
	AcceptRate float64
	// TrustedProxies lists the proxies whose X-Forwarded-For or Forwarded
	// header names the client (Upgrade.ClientAddr, Conn.ClientAddr,
	// MaxConnsPerIP, logs). Requests from other peers are taken at their TCP
	// address. Default: none.
	TrustedProxies []netip.Prefix
	// ProxyProtocol makes every connection start with a PROXY protocol v1
	// or v2 header (HAProxy, nginx stream, AWS NLB); its source address
	// replaces the TCP peer's. A connection without one is closed. Only
	// for listeners that only a proxy can reach. Default: off.
	ProxyProtocol bool
	// PingInterval, if positive, sends every connection a ping this often;
	// the pong's round trip is Conn.Latency and Handler.OnPong sees it.
	// Default 0: no pings.
	PingInterval time.Duration
	// IdleTimeout, if positive, closes a connection (1001 "idle timeout")
	// when no frame has come from the peer for this long; with pings on, a
	// client that does not answer them. Default 0: no idle limit.
	IdleTimeout time.Duration
	// MessageTimeout bounds how long a message may take to arrive once its
	// first byte has: a frame, or a fragmented message, that stops coming
	// is closed with 1008 "message not completed in time". Default: 60 s;
	// negative: no limit.
	MessageTimeout time.Duration
	// Logger receives the server's log. Default: discard.
	// Debug level logs every frame; Info logs connects, disconnects and
	// refusals.
	Logger *slog.Logger
}

// Option sets one field of Options.
type Option func(*Options)

// WithOptions replaces all options at once.
func WithOptions(o Options) Option { return func(p *Options) { *p = o } }

// WithLoops sets the number of event loops.
func WithLoops(n int) Option { return func(o *Options) { o.Loops = n } }

// WithMaxMessage sets the message size cap in bytes.
func WithMaxMessage(n int64) Option { return func(o *Options) { o.MaxMessage = n } }

// WithMaxHeaderBytes sets the request head cap in bytes.
func WithMaxHeaderBytes(n int) Option { return func(o *Options) { o.MaxHeaderBytes = n } }

// WithHandshakeTimeout sets how long a client may take to send its request.
func WithHandshakeTimeout(d time.Duration) Option {
	return func(o *Options) { o.HandshakeTimeout = d }
}

// WithCloseTimeout sets how long a closing handshake may take.
func WithCloseTimeout(d time.Duration) Option { return func(o *Options) { o.CloseTimeout = d } }

// WithOrigins sets the allowed origins (see Options.Origins).
func WithOrigins(origins ...string) Option { return func(o *Options) { o.Origins = origins } }

// WithMaxBacklog sets the per-connection backlog cap in bytes.
func WithMaxBacklog(n int) Option { return func(o *Options) { o.MaxBacklog = n } }

// WithMaxBuffered sets the buffer budget of all connections together (see
// Options.MaxBuffered).
func WithMaxBuffered(n int) Option { return func(o *Options) { o.MaxBuffered = n } }

// WithCompressionLevel sets Options.CompressionLevel.
func WithCompressionLevel(level int) Option { return func(o *Options) { o.CompressionLevel = level } }

// WithCompressionMin sets Options.CompressionMin.
func WithCompressionMin(n int) Option { return func(o *Options) { o.CompressionMin = n } }

// WithNodeID sets Options.NodeID.
func WithNodeID(id uint16) Option { return func(o *Options) { o.NodeID = id } }

// WithSlowPolicy sets what happens to a connection at its backlog cap.
func WithSlowPolicy(p SlowPolicy) Option { return func(o *Options) { o.SlowPolicy = p } }

// WithFlushInterval sets how long writes may wait to be coalesced.
func WithFlushInterval(d time.Duration) Option { return func(o *Options) { o.FlushInterval = d } }

// WithMaxConns caps the open connections (see Options.MaxConns).
func WithMaxConns(n int) Option { return func(o *Options) { o.MaxConns = n } }

// WithMaxConnsPerIP caps the open connections per client address.
func WithMaxConnsPerIP(n int) Option { return func(o *Options) { o.MaxConnsPerIP = n } }

// WithMaxHandshakes caps the handshakes in progress.
func WithMaxHandshakes(n int) Option { return func(o *Options) { o.MaxHandshakes = n } }

// WithAcceptRate caps new connections per second.
func WithAcceptRate(perSecond float64) Option { return func(o *Options) { o.AcceptRate = perSecond } }

// WithTrustedProxies sets the proxies whose forwarding headers are believed.
func WithTrustedProxies(p ...netip.Prefix) Option {
	return func(o *Options) { o.TrustedProxies = p }
}

// WithProxyProtocol expects a PROXY protocol header on every connection.
func WithProxyProtocol(on bool) Option { return func(o *Options) { o.ProxyProtocol = on } }

// WithPingInterval sets how often every connection is pinged.
func WithPingInterval(d time.Duration) Option { return func(o *Options) { o.PingInterval = d } }

// WithIdleTimeout sets how long a peer may stay silent.
func WithIdleTimeout(d time.Duration) Option { return func(o *Options) { o.IdleTimeout = d } }

// WithMessageTimeout sets how long a message may take to arrive.
func WithMessageTimeout(d time.Duration) Option {
	return func(o *Options) { o.MessageTimeout = d }
}

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }

// loadOptions applies opts over the defaults.
func loadOptions(opts []Option) Options {
	var o Options
	for _, fn := range opts {
		fn(&o)
	}
	if o.Loops <= 0 {
		o.Loops = runtime.NumCPU()
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = codec.DefaultMaxMessage
	}
	if o.MaxBacklog == 0 {
		o.MaxBacklog = DefaultMaxBacklog
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = codec.DefaultMaxHeaderBytes
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 5 * time.Second
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = 5 * time.Second
	}
	if o.MessageTimeout == 0 {
		o.MessageTimeout = 60 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: LevelNothing}))
	}
	return o
}
