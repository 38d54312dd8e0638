// Command raw is the reference peer for wshub's benchmarks: no WebSocket
// library, only the standard net package. A goroutine per connection
// reads and unmasks client frames; a room message is encoded once, and one
// broadcaster goroutine for the whole server writes that frame to each
// member with one conn.Write, which is one write(2) while the member's
// socket buffer has room. Its broadcast cost is the kernel's per-write cost.
//
//	raw -addr 127.0.0.1:0
//
// Routes: "/ws?room=NAME" (default room "lobby") delivers every message a
// client sends to every member of its room, the sender included, unchanged;
// "/echo" sends every message back to its sender. It prints one line,
// "listening on HOST:PORT", to stderr once listening, and exits 0 on SIGINT
// or SIGTERM.
package main

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/wshub/wshub/bench/peers/internal/peer"
)

func main() { peer.Main("raw", run) }

// run accepts until ctx ends; open connections die with the process.
func run(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	b := newBroadcaster()
	go b.run()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	peer.Announce(ln.Addr().String())
	for {
		nc, err := ln.Accept()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and friends: back off like net/http
			continue
		}
		go serve(nc, b)
	}
}
