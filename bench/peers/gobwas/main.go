// Command gobwas is the gobwas/ws peer for wshub's benchmarks, written the
// way gobwas/ws's README writes a server: net/http with ws.UpgradeHTTP, a
// goroutine per connection reading with wsutil.ReadClientData and writing
// with wsutil.WriteServerMessage, under a per-connection mutex because room
// messages are written from other connections' goroutines.
//
//	gobwas -addr 127.0.0.1:0
//
// Routes: "/ws?room=NAME" (default room "lobby") delivers every message a
// client sends to every member of its room, the sender included, unchanged;
// "/echo" sends every message back to its sender. It prints one line,
// "listening on HOST:PORT", to stderr once listening, and exits 0 on SIGINT
// or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address HOST:PORT")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "gobwas:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. Upgraded connections are hijacked, so closing
// the server leaves them to die with the process.
func run(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	rooms := newRooms()
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", rooms.serveWs)
	mux.HandleFunc("/echo", serveEcho)
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	fmt.Fprintf(os.Stderr, "listening on %s\n", ln.Addr())
	<-ctx.Done()
	return srv.Close()
}

// upgrade is ws.UpgradeHTTP plus one thing the README skips: bytes the
// client sent right behind its request may already sit in net/http's
// buffer, so read through it when it holds any.
func upgrade(w http.ResponseWriter, r *http.Request) (net.Conn, io.Reader, error) {
	conn, rw, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		return nil, nil, err
	}
	if rw != nil && rw.Reader.Buffered() > 0 {
		return conn, rw.Reader, nil
	}
	return conn, conn, nil
}

// serveEcho is the README's loop: read a data message, write it back. Only
// this goroutine writes, so it needs no lock.
func serveEcho(w http.ResponseWriter, r *http.Request) {
	conn, rd, err := upgrade(w, r)
	if err != nil {
		return
	}
	go func() {
		defer conn.Close()
		rw := struct {
			io.Reader
			io.Writer
		}{rd, conn}
		for {
			msg, op, err := wsutil.ReadClientData(rw)
			if err != nil {
				return
			}
			if err := wsutil.WriteServerMessage(conn, op, msg); err != nil {
				return
			}
		}
	}()
}
