package engine

import (
	"io"
	"log/slog"
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
	// MaxBacklog caps the bytes queued for one connection that its socket
	// has not taken yet (a client that does not read); SlowPolicy says what
	// happens then. Default: DefaultMaxBacklog (4 MiB); negative: no cap.
	MaxBacklog int
	// SlowPolicy is PolicyClose (default: close with 1008),
	// PolicyDropNewest or PolicyDropOldest.
	SlowPolicy SlowPolicy
	// FlushInterval, if positive, lets writes wait up to this long so that
	// more of them share one write(2) (e.g. a 16 ms game tick). Default 0:
	// what a callback queues is written when it returns, what other
	// goroutines queue when the loop has drained it.
	FlushInterval time.Duration
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

// WithSlowPolicy sets what happens to a connection at its backlog cap.
func WithSlowPolicy(p SlowPolicy) Option { return func(o *Options) { o.SlowPolicy = p } }

// WithFlushInterval sets how long writes may wait to be coalesced.
func WithFlushInterval(d time.Duration) Option { return func(o *Options) { o.FlushInterval = d } }

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
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: LevelNothing}))
	}
	return o
}
