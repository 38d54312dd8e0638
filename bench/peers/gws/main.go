// Command gws is the lxzan/gws peer for wshub's benchmarks, written the way
// gws's README and examples/chatroom write a server: an event handler per
// route, net/http upgrades, one ReadLoop goroutine per connection, and a
// gws.Broadcaster for room messages.
//
//	gws -addr 127.0.0.1:0
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

	"github.com/lxzan/gws"

	"github.com/wshub/wshub/bench/peers/internal/peer"
)

func main() { peer.Main("gws", run) }

// run serves until ctx ends. Upgraded connections are hijacked, so closing
// the server leaves them to die with the process.
func run(ctx context.Context, addr string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", serve(newRoomUpgrader()))
	mux.HandleFunc("/echo", serve(gws.NewUpgrader(&echoHandler{}, nil)))
	return peer.ServeHTTP(ctx, addr, mux)
}

// serve is the README's best-practice handler: upgrade, then read in a new
// goroutine so the HTTP handler returns.
func serve(u *gws.Upgrader) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		socket, err := u.Upgrade(w, r)
		if err != nil {
			return
		}
		go socket.ReadLoop()
	}
}

// pongHandler answers a ping with a pong carrying the ping's data (RFC 6455
// section 5.5.3); gws.BuiltinEventHandler's pong is empty.
type pongHandler struct {
	gws.BuiltinEventHandler
}

func (pongHandler) OnPing(socket *gws.Conn, payload []byte) {
	_ = socket.WritePong(payload)
}

// echoHandler writes every message back with its opcode, as the README's
// best-practice handler does.
type echoHandler struct {
	pongHandler
}

func (*echoHandler) OnMessage(socket *gws.Conn, message *gws.Message) {
	defer message.Close()
	_ = socket.WriteMessage(message.Opcode, message.Bytes())
}
