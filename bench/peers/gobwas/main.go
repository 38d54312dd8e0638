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
	"io"
	"net"
	"net/http"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/wshub/wshub/bench/peers/internal/peer"
)

func main() { peer.Main("gobwas", run) }

// run serves until ctx ends.
func run(ctx context.Context, addr string) error {
	rooms := newRooms()
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", rooms.serveWs)
	mux.HandleFunc("/echo", serveEcho)
	return peer.ServeHTTP(ctx, addr, mux)
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
