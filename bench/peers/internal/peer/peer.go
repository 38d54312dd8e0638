// Package peer is what every peer server shares: the -addr flag, the
// "listening on ADDR" line that scripts/bench.sh parses, and a clean exit
// on SIGINT or SIGTERM. The WebSocket parts stay in each server, written the
// way that library's users write them.
package peer

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

// Main parses -addr and runs serve until SIGINT or SIGTERM; serve returns
// once ctx ends. An error exits 1, prefixed with name.
func Main(name string, serve func(ctx context.Context, addr string) error) {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address HOST:PORT")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *addr); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Announce prints the line scripts wait for.
func Announce(addr string) { fmt.Fprintf(os.Stderr, "listening on %s\n", addr) }

// ServeHTTP serves h with net/http on addr until ctx ends. Upgraded
// connections are hijacked, so closing the server leaves them to die with
// the process.
func ServeHTTP(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln) //nolint:errcheck // ends with srv.Close
	Announce(ln.Addr().String())
	<-ctx.Done()
	return srv.Close()
}
