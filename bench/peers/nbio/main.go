// Command nbio is the lesismal/nbio peer for wshub's benchmarks, written the
// way nbio_examples' websocket server is: an nbhttp.Engine serving a
// ServeMux in non-blocking mode (connections live on the engine's pollers),
// and websocket.Upgrader callbacks that write with Conn.WriteMessage.
//
//	nbio -addr 127.0.0.1:0
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

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/wshub/wshub/bench/peers/internal/peer"
)

func main() { peer.Main("nbio", run) }

// run serves until ctx ends. The engine writes the bound address back into
// addrs, which is how port 0 becomes a real port.
func run(ctx context.Context, addr string) error {
	logging.SetLevel(logging.LevelError) // nbio logs engine start-up at Info to stdout
	rooms := newRooms()
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", rooms.serveWs(rooms.upgrader()))
	mux.HandleFunc("/echo", serveEcho(echoUpgrader()))
	addrs := []string{addr}
	engine := nbhttp.NewEngine(nbhttp.Config{
		Network:                 "tcp",
		Addrs:                   addrs,
		IOMod:                   nbhttp.IOModNonBlocking,
		ReleaseWebsocketPayload: true,
		Handler:                 mux,
	})
	if err := engine.Start(); err != nil {
		return err
	}
	peer.Announce(addrs[0])
	<-ctx.Done()
	engine.Stop()
	return nil
}

// echoUpgrader writes every message back with its type, as the nbio
// README's echo does. The default ping handler answers with the same data.
func echoUpgrader() *websocket.Upgrader {
	u := websocket.NewUpgrader()
	u.OnMessage(func(c *websocket.Conn, mt websocket.MessageType, data []byte) {
		_ = c.WriteMessage(mt, data)
	})
	return u
}

// serveEcho upgrades; the engine then reads the connection on a poller.
func serveEcho(u *websocket.Upgrader) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = u.Upgrade(w, r, nil)
	}
}
