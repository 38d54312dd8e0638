// Command wsbench is a WebSocket load generator for wshub and its peers.
// After the opening handshake its connections are served by gnet event
// loops, not a goroutine each, so one process holds up to 19,000 of them.
//
//	wsbench -scenario broadcast -addr 127.0.0.1:8080 -conns 5000 -msgs 200 -size 64
//	wsbench -scenario idle -addr 127.0.0.1:8080 -idle-at 4000,16000 -server-pid 1234
//	wsbench -scenario broadcast -addr 127.0.0.1:8080 -size 1024 -payload json -compression
//	wsbench -scenario inflate -addr 127.0.0.1:8080 -conns 1000 -msgs 20 -compression
//	wsbench -scenario rooms -addr 127.0.0.1:8081,127.0.0.1:8082,127.0.0.1:8083 -rooms 1000 -members 5 \
//	    -stats-url http://127.0.0.1:8081/stats,http://127.0.0.1:8082/stats,http://127.0.0.1:8083/stats \
//	    -nats-varz http://127.0.0.1:8222/varz
//	wsbench chart -in results.jsonl -out latest.svg
//	wsbench report -in results.jsonl -out latest.md
//
// Scenarios: idle (server memory per connection), broadcast (one publisher,
// N members of one room, burst or steady), rooms (R rooms × K members all
// publishing), echo (closed-loop round trips), connect (handshakes/s and,
// with -restart-cmd, time to reconnect after a server restart), inflate
// (every client sends compressed messages to /sink, each followed by a
// ping: server CPU per MB inflated, and its peak memory).
//
// Several -addr are the nodes of one wshub cluster (cmd/wshub -nats): the
// connections are spread evenly over them, and within each -procs
// process too; the broadcast publisher is on the first node; each rooms
// room's members go round-robin over the nodes, so that every room spans
// them. The result (named cluster-…; -cluster does the same for one node)
// has each node's deliveries/s, latency and losses, and with a stats URL
// per node what went through NATS, per published message: a run whose
// nodes got a message from NATS more than once per node with members in
// its room (once per recipient, say) fails.
//
// -compression offers permessage-deflate (RFC 7692) as Chromium does; a
// run where a connection did not get it fails, saying how many did.
// -payload json sends JSON-like text (game state, chat lines) that
// compresses as such traffic does, instead of binary padding.
//
// It prints a summary on stderr and one JSON object on stdout (or appends
// it to -out), and exits 1 when a message is lost or a connection fails,
// 2 on a usage or setup error. The package bench holds the code; this file
// only parses flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/wshub/wshub/bench"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "chart":
			return runTool(args[1:], stderr, "chart", bench.WriteChart)
		case "report":
			return runTool(args[1:], stderr, "report", reportTo(stdout))
		}
	}
	cfg, opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "wsbench:", err)
		return 2
	}
	if opts.worker {
		if err := bench.ServeWorker(stdin, stdout); err != nil {
			fmt.Fprintln(stderr, "wsbench: worker:", err)
			return 2
		}
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "wsbench:", err)
		return 2
	}
	res.WriteSummary(stderr)
	if err := bench.WriteResult(res, opts.out, stdout); err != nil {
		fmt.Fprintln(stderr, "wsbench:", err)
		return 2
	}
	if !res.OK {
		fmt.Fprintf(stderr, "wsbench: FAILED (%s): %s\n", res.Label, strings.Join(res.Failures, "; "))
		return 1
	}
	return 0
}

// options are the flags that are not part of bench.Config.
type options struct {
	out    string
	worker bool
}

func parseFlags(args []string, stderr io.Writer) (bench.Config, options, error) {
	var c bench.Config
	var o options
	var idleAt, sources, pids, stats string
	fs := flag.NewFlagSet("wsbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Scenario, "scenario", "broadcast", "idle, broadcast, rooms, echo, connect or inflate")
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "server HOST:PORT, or several comma-separated: the nodes of one cluster, connections spread over them (broadcast, rooms, echo)")
	fs.StringVar(&c.Label, "label", "", "server name in the results (default: the address)")
	fs.StringVar(&c.Name, "name", "", "table name in the results (default: the scenario and mode, cluster-… on a cluster)")
	fs.BoolVar(&c.Cluster, "cluster", false, "the server is a cluster node (implied by several -addr): report per node and the NATS traffic")
	fs.IntVar(&c.Conns, "conns", 1000, "connections (broadcast, echo, connect, inflate)")
	fs.StringVar(&idleAt, "idle-at", "4000,16000", "idle: the two connection counts to measure memory at")
	fs.IntVar(&c.Msgs, "msgs", 0, "broadcast: messages to publish (default 100); inflate: messages per connection (default 20)")
	fs.IntVar(&c.Size, "size", 0, "message size in bytes (default 64, inflate 65536; min 20 for binary: send time, sequence, publisher; 61 for json)")
	fs.StringVar(&c.Payload, "payload", "", "binary (stamp and padding) or json (JSON-like text that compresses; default for inflate)")
	fs.BoolVar(&c.Compression, "compression", false, "offer permessage-deflate (RFC 7692) as Chromium does: inflate what comes compressed, send compressed; fail unless every connection gets it")
	fs.StringVar(&c.Target, "target", "", "inflate: the route the messages go to (default "+bench.DefaultSink+"; a server without it is measured on /echo, and the result says so)")
	fs.StringVar(&c.Mode, "mode", "burst", "broadcast: burst (back to back) or steady (-rate msgs/s)")
	fs.Float64Var(&c.Rate, "rate", 10, "msgs/s: broadcast steady (the publisher), rooms (each member)")
	fs.IntVar(&c.Rooms, "rooms", 10, "rooms: number of rooms")
	fs.IntVar(&c.Members, "members", 10, "rooms: members per room")
	fs.DurationVar(&c.Duration, "duration", 0, "rooms, echo: how long to send (default 10s)")
	fs.DurationVar(&c.Drain, "drain", 0, "how long to wait for stragglers after sending ends, and for redials after a restart (default 10s)")
	fs.DurationVar(&c.Settle, "settle", 0, "idle: wait before measuring memory (default 1.5s)")
	fs.StringVar(&sources, "sources", "127.0.0.1", "local addresses to dial from, in rotation: a,b or a-b (about 28k connections each)")
	fs.IntVar(&c.DialRate, "dial-rate", 3000, "connections opened per second, all processes together")
	fs.IntVar(&c.DialWorkers, "dial-workers", 8, "concurrent dials per process")
	fs.IntVar(&c.Loops, "loops", 0, "client event loops per process (default GOMAXPROCS)")
	fs.StringVar(&pids, "server-pid", "", "server process to measure CPU and RSS of (/proc/PID); on a cluster one per node, comma-separated")
	fs.StringVar(&stats, "stats-url", "", "server JSON stats (heap_inuse, stack_inuse, goroutines; a cluster node's cluster object); 404 is fine; on a cluster one per node, comma-separated")
	fs.StringVar(&c.NATSVarz, "nats-varz", "", "cluster: the NATS server's monitoring URL http://HOST:PORT/varz (in_msgs, out_msgs per published message)")
	fs.IntVar(&c.NATSPID, "nats-pid", 0, "cluster: the NATS server process, to measure its CPU")
	fs.StringVar(&c.Restart, "restart-cmd", "", "connect: shell command that restarts the server and waits for it (a last stdout line with a number is the new PID)")
	fs.IntVar(&c.Procs, "procs", 1, "client processes to spread the connections over (max 19000 each)")
	fs.StringVar(&o.out, "out", "", "append the JSON result to this file instead of stdout")
	fs.BoolVar(&o.worker, "worker", false, "internal: serve as a worker process of a -procs run")
	fs.Usage = func() { usage(fs, stderr) }
	if err := fs.Parse(args); err != nil {
		return c, o, err
	}
	if fs.NArg() > 0 {
		return c, o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if c.IdleAt, err = bench.ParseCounts(idleAt); err != nil {
		return c, o, err
	}
	if c.Sources, err = bench.ParseSources(sources); err != nil {
		return c, o, err
	}
	if c.NodePIDs, err = bench.ParsePIDs(pids); err != nil {
		return c, o, err
	}
	if len(c.NodePIDs) > 0 {
		c.ServerPID = c.NodePIDs[0]
	}
	if len(c.NodePIDs) < 2 {
		c.NodePIDs = nil
	}
	if c.NodeStats = bench.SplitList(stats); len(c.NodeStats) > 0 {
		c.StatsURL = c.NodeStats[0]
	}
	if len(c.NodeStats) < 2 {
		c.NodeStats = nil
	}
	return c, o, nil
}

// usage lists the flags but the hidden -worker, and the subcommands.
func usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintln(w, "usage: wsbench [flags]          run a scenario\n       wsbench chart -in FILE -out FILE.svg\n       wsbench report -in FILE -out FILE.md")
	hidden := flag.NewFlagSet("", flag.ContinueOnError)
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "worker" {
			hidden.Var(f.Value, f.Name, f.Usage)
		}
	})
	hidden.SetOutput(w)
	hidden.PrintDefaults()
}

// runTool parses -in and -out for the chart and report subcommands.
func runTool(args []string, stderr io.Writer, name string, fn func(in, out string) error) int {
	fs := flag.NewFlagSet("wsbench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "results file (JSON lines)")
	out := fs.String("out", "", "file to write")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *in == "" || *out == "" {
		fmt.Fprintf(stderr, "wsbench %s: -in and -out are required\n", name)
		return 2
	}
	if err := fn(*in, *out); err != nil {
		fmt.Fprintf(stderr, "wsbench %s: %v\n", name, err)
		return 2
	}
	return 0
}

// reportTo writes the Markdown report to the file and to stdout.
func reportTo(stdout io.Writer) func(in, out string) error {
	return func(in, out string) error { return bench.WriteReport(in, out, stdout) }
}
