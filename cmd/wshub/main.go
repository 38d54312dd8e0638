// Command wshub runs the wshub WebSocket server with its chat demo.
//
//	go -C cmd/wshub run .                # http://127.0.0.1:8080/
//	go -C cmd/wshub run . -addr 127.0.0.1:9000 -log-level verbose
//	go -C cmd/wshub run . -nats nats://127.0.0.1:4222   # a cluster node
//
// It is a module of its own (it requires the cluster module, and so NATS;
// the library does not). With -nats it joins a cluster (package cluster):
// the chat's rooms, presence included, span every node on that NATS.
//
// Routes: "/" the chat page, "/ws?room=NAME" room chat (every message a
// client sends goes to every member of its room, itself included, unchanged;
// add "&name=NICK" to also get JSON presence events), "/echo" echo, and with
// -stats, "/stats" memory and connection counts as JSON. SIGINT or SIGTERM
// closes every client with 1001 and exits 0; a second signal kills.
// Exit status: 0 after a clean stop or -h, 2 for a flag mistake, 1 otherwise,
// including when the server stops on its own (its listener failed).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/wshub/wshub/codec"
	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills a shutdown that hangs
	}()
	err := run(ctx, os.Args[1:], os.Stderr, nil)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2) // the flag package has printed the error and the usage
	default:
		fmt.Fprintln(os.Stderr, "wshub:", err)
		os.Exit(1)
	}
}

// errUsage wraps command-line mistakes that were already reported.
var errUsage = errors.New("wshub: usage")

// config is what the flags say.
type config struct {
	addr       string
	level      string
	origins    string
	maxMessage int64
	loops      int
	maxBacklog int
	budget     int
	policy     string
	flush      time.Duration
	stats      bool

	maxConns, maxPerIP, maxHandshakes int
	acceptRate                        float64
	handshake, ping, idle, message    time.Duration
	trusted                           string
	proxyProtocol                     bool

	compression            bool
	compressionLevel, zMin int
	clientWindowBits       int

	nats, node, prefix string
	nodeID             int
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("wshub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address HOST:PORT")
	fs.StringVar(&c.level, "log-level", "subtle", "log level: verbose, subtle or nothing")
	fs.StringVar(&c.origins, "origins", "", "comma-separated extra allowed origins (* for any); same-origin is always allowed")
	fs.Int64Var(&c.maxMessage, "max-message", 1<<20, "largest message in bytes (for a compressed message: once inflated)")
	fs.IntVar(&c.loops, "loops", runtime.NumCPU(), "number of event loops")
	fs.IntVar(&c.maxBacklog, "max-backlog", engine.DefaultMaxBacklog, "bytes queued for one client before -slow-policy applies (-1: no cap)")
	fs.IntVar(&c.budget, "max-buffered", defaultBudget(), "bytes all clients together may hold in buffers (backlogs, partial messages) before the largest are closed (0: no budget; default a quarter of the memory available: RAM, or the cgroup's limit)")
	fs.StringVar(&c.policy, "slow-policy", "close", "slow client policy: close (1008), drop-newest or drop-oldest")
	fs.DurationVar(&c.flush, "flush-interval", 0, "let writes wait up to this long to share a write(2), e.g. 16ms (0: as soon as the callback that queued them returns)")
	fs.BoolVar(&c.stats, "stats", false, "serve /stats (memory and connection counts as JSON) on the public port")
	fs.IntVar(&c.maxConns, "max-conns", 0, "most open connections, then 503 (0: from RLIMIT_NOFILE, leaving headroom)")
	fs.IntVar(&c.maxPerIP, "max-conns-per-ip", 0, "most open connections per client address, then 429 (0: no limit)")
	fs.IntVar(&c.maxHandshakes, "max-handshakes", 0, "most handshakes in progress, then new sockets are shed (0: from RLIMIT_NOFILE, 64-4096)")
	fs.Float64Var(&c.acceptRate, "accept-rate", 0, "most new connections per second (0: no limit)")
	fs.DurationVar(&c.handshake, "handshake-timeout", 5*time.Second, "time a client has to send its request, and the upgrade decision waits at most")
	fs.DurationVar(&c.ping, "ping-interval", 25*time.Second, "ping every client this often (0: never)")
	fs.DurationVar(&c.idle, "idle-timeout", 60*time.Second, "close a client silent this long with 1001 (0: never)")
	fs.DurationVar(&c.message, "message-timeout", 30*time.Second, "close a client whose message takes longer to arrive with 1008 (-1ns: never)")
	fs.StringVar(&c.trusted, "trusted-proxies", "", "comma-separated proxy addresses or CIDRs whose X-Forwarded-For/Forwarded is believed")
	fs.BoolVar(&c.proxyProtocol, "proxy-protocol", false, "expect a PROXY protocol v1/v2 header on every connection (behind HAProxy, nginx stream, AWS NLB)")
	fs.BoolVar(&c.compression, "compression", true, "negotiate permessage-deflate (RFC 7692) on /ws, /echo and /sink with clients that offer it (turn off with -compression=false)")
	fs.IntVar(&c.compressionLevel, "compression-level", 1, "deflate level of messages sent compressed: 1 (fastest) to 9 (smallest), -1 klauspost/compress's default (5), -2 Huffman only; 0 means 1. Each message is compressed once for all its compressed recipients")
	fs.IntVar(&c.zMin, "compression-min", 128, "smallest payload sent compressed, in bytes; 0: every one. Smaller ones go as they are, and so do those compression does not shrink or that exceed the client's server_max_window_bits")
	fs.IntVar(&c.clientWindowBits, "client-window-bits", 0, "let clients keep their compression context, with a window of 2^N bytes (8-15) kept per connection: clients that offer client_max_window_bits (Chromium) get N, those that offer no bound (Firefox) only N=15 (0: ask every client not to keep one, and keep nothing)")
	fs.StringVar(&c.nats, "nats", "", "join a cluster through the NATS server(s) at this URL (comma-separated for several): rooms, presence and sends span every node (empty: run alone)")
	fs.StringVar(&c.node, "node", "", "this node's name in the cluster, for NATS and the logs (default: the host name and the port of -addr)")
	fs.IntVar(&c.nodeID, "node-id", 0, "this node's ID (1-65535), the top 16 bits of its connection IDs; every node needs its own (0: derived from -node, and a clash is logged)")
	fs.StringVar(&c.prefix, "cluster-prefix", "wshub", "subject prefix: nodes on one NATS with the same prefix form one cluster")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return c, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return c, nil
}

// run serves until ctx ends, then stops gracefully. ready, if not nil,
// receives the listening address.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	level, err := engine.ParseLevel(cfg.level)
	if err != nil {
		return err
	}
	policy, err := engine.ParseSlowPolicy(cfg.policy)
	if err != nil {
		return err
	}
	var origins []string
	for _, o := range strings.Split(cfg.origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	trusted, err := codec.ParseTrusted(cfg.trusted)
	if err != nil {
		return err
	}
	if b := cfg.clientWindowBits; b != 0 && (b < 8 || b > 15) {
		return fmt.Errorf("-client-window-bits must be 0 or 8-15, not %d", b)
	}
	if l := cfg.compressionLevel; l < -2 || l > 9 {
		return fmt.Errorf("-compression-level must be -2 to 9, not %d", l)
	}
	zMin := cfg.zMin
	if zMin == 0 {
		zMin = -1 // every message: the flag says bytes, the option's 0 means its default
	}
	logger := engine.NewLogger(stderr, level)
	opts := []engine.Option{
		engine.WithCompressionLevel(cfg.compressionLevel),
		engine.WithCompressionMin(zMin),
		engine.WithLogger(logger),
		engine.WithOrigins(origins...),
		engine.WithMaxMessage(cfg.maxMessage),
		engine.WithLoops(cfg.loops),
		engine.WithMaxBacklog(cfg.maxBacklog),
		engine.WithMaxBuffered(cfg.budget),
		engine.WithSlowPolicy(policy),
		engine.WithFlushInterval(cfg.flush),
		engine.WithMaxConns(cfg.maxConns),
		engine.WithMaxConnsPerIP(cfg.maxPerIP),
		engine.WithMaxHandshakes(cfg.maxHandshakes),
		engine.WithAcceptRate(cfg.acceptRate),
		engine.WithHandshakeTimeout(cfg.handshake),
		engine.WithPingInterval(cfg.ping),
		engine.WithIdleTimeout(cfg.idle),
		engine.WithMessageTimeout(cfg.message),
		engine.WithTrustedProxies(trusted...),
		engine.WithProxyProtocol(cfg.proxyProtocol),
	}
	dcfg := demo.Config{Stats: cfg.stats,
		Compression: engine.Compression{Enabled: cfg.compression, ClientWindowBits: cfg.clientWindowBits}}
	var cl *clusterNode
	if cfg.nats != "" {
		if cl, err = joinNATS(cfg, logger); err != nil {
			return err
		}
		defer cl.close()
		opts = append(opts, engine.WithNodeID(cl.id))
		// A message NATS would refuse (max_payload, 1 MiB by default)
		// cannot cross nodes: keep the largest message under it, with
		// room for the cluster's header and a long room name.
		limit := cl.nc.MaxPayload() // 0 until NATS has answered
		if limit <= 0 {
			limit = 1 << 20 // NATS's default
		}
		if limit -= 4096; cfg.maxMessage <= 0 || cfg.maxMessage > limit { // <= 0: the engine's 1 MiB
			logger.Info("cluster: largest message lowered to fit NATS max_payload", "max_message", limit)
			opts = append(opts, engine.WithMaxMessage(limit))
		}
		dcfg.Join = cl.join
		dcfg.Cluster = func() any { return cl.stats() }
	}
	srv, err := demo.NewServer(dcfg, opts...)
	if err != nil {
		return err
	}
	if err := srv.Start(cfg.addr); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wshub: chat demo at http://%s/\n", srv.Addr())
	if ready != nil {
		ready <- srv.Addr().String()
	}
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Wait() }()
	select {
	case err := <-stopped:
		if err == nil {
			err = errors.New("no reason given")
		}
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Stop(stopCtx)
	<-stopped
	return err // then cl.close: the leave events of the clients just closed go out first
}
