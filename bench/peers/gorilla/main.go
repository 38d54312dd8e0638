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
	"net/http"

	"github.com/gorilla/websocket"

	"github.com/wshub/wshub/bench/peers/internal/peer"
)

// upgrader is the zero value, as in gorilla's echo example: 4 KiB buffers,
// same-origin check, no compression.
var upgrader = websocket.Upgrader{}

func main() { peer.Main("gorilla", run) }

// run serves until ctx ends.
func run(ctx context.Context, addr string) error {
	rooms := newRooms()
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", rooms.serveWs)
	mux.HandleFunc("/echo", serveEcho)
	return peer.ServeHTTP(ctx, addr, mux)
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
