// Command gorilla is the gorilla/websocket peer for wshub's benchmarks,
// written the way gorilla's examples/chat and examples/echo write a server.
//
//	gorilla -addr 127.0.0.1:0 [-compression]
//
// Routes: "/ws?room=NAME" (default room "lobby") delivers every message a
// client sends to every member of its room, the sender included, unchanged;
// "/echo" sends every message back to its sender; "/sink" reads every
// message and sends nothing back. With -compression the upgrader
// negotiates permessage-deflate (Upgrader.EnableCompression; gorilla
// always answers server_no_context_takeover and client_no_context_takeover)
// and a room's prepared message is compressed once for all its members. It
// prints one line, "listening on HOST:PORT", to stderr once listening, and
// exits 0 on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"net/http"

	"github.com/gorilla/websocket"

	"github.com/wshub/wshub/bench/peers/internal/peer"
)

// upgrader is the zero value, as in gorilla's echo example: 4 KiB buffers,
// same-origin check, no compression unless -compression.
var upgrader = websocket.Upgrader{}

var compression = flag.Bool("compression", false, "negotiate permessage-deflate (Upgrader.EnableCompression)")

func main() { peer.Main("gorilla", run) }

// run serves until ctx ends.
func run(ctx context.Context, addr string) error {
	upgrader.EnableCompression = *compression
	rooms := newRooms()
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", rooms.serveWs)
	mux.HandleFunc("/echo", serveEcho)
	mux.HandleFunc("/sink", serveSink)
	return peer.ServeHTTP(ctx, addr, mux)
}

// serveSink reads every message whole, as an application that uses them
// does, and sends nothing back. The default ping handler answers pings.
func serveSink(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return
		}
	}
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
