// Command gorilla is the gorilla/websocket peer for wshub's benchmarks,
// written the way gorilla's examples/chat and examples/echo write a server.
//
//	gorilla -addr 127.0.0.1:0
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
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/gorilla/websocket"
)

// upgrader is the zero value, as in gorilla's echo example: 4 KiB buffers,
// same-origin check, no compression.
var upgrader = websocket.Upgrader{}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address HOST:PORT")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "gorilla:", err)
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

// serveEcho is gorilla's examples/echo handler: read a message, write it
// back with the same type.
func serveEcho(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	for {
		mt, message, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(mt, message); err != nil {
			return
		}
	}
}
