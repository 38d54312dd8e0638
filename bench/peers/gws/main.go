// Command gws is the lxzan/gws peer for wshub's benchmarks, written the way
// gws's README and examples/chatroom write a server: an event handler per
// route, net/http upgrades, one ReadLoop goroutine per connection, and a
// gws.Broadcaster for room messages.
//
//	gws -addr 127.0.0.1:0 [-compression]
//
// Routes: "/ws?room=NAME" (default room "lobby") delivers every message a
// client sends to every member of its room, the sender included, unchanged;
// "/echo" sends every message back to its sender; "/sink" reads every
// message and sends nothing back. With -compression every route negotiates
// permessage-deflate without context takeover on either side, so that a
// Broadcaster compresses a room message once for all its members. It
// prints one line, "listening on HOST:PORT", to stderr once listening, and
// exits 0 on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"net/http"

	"github.com/lxzan/gws"

	"github.com/wshub/wshub/bench/peers/internal/peer"
)

var compression = flag.Bool("compression", false, "negotiate permessage-deflate (no context takeover)")

func main() { peer.Main("gws", run) }

// run serves until ctx ends. Upgraded connections are hijacked, so closing
// the server leaves them to die with the process.
func run(ctx context.Context, addr string) error {
	pd := deflate(*compression)
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", serve(newRoomUpgrader(pd)))
	mux.HandleFunc("/echo", serve(gws.NewUpgrader(&echoHandler{}, &gws.ServerOption{PermessageDeflate: pd})))
	mux.HandleFunc("/sink", serve(gws.NewUpgrader(&sinkHandler{}, &gws.ServerOption{PermessageDeflate: pd})))
	return peer.ServeHTTP(ctx, addr, mux)
}

// deflate is the compression of every route: gws's defaults (level 1,
// messages under 512 bytes sent as they are, a pool of 32 compressors)
// without context takeover on either side. A Broadcaster needs the
// server's: it compresses once for every member, which only works when no
// message refers to earlier ones.
func deflate(on bool) gws.PermessageDeflate {
	return gws.PermessageDeflate{Enabled: on, ServerContextTakeover: false, ClientContextTakeover: false}
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

// sinkHandler takes every message (gws hands OnMessage the whole message,
// inflated) and sends nothing back.
type sinkHandler struct {
	pongHandler
}

func (*sinkHandler) OnMessage(_ *gws.Conn, message *gws.Message) { _ = message.Close() }
