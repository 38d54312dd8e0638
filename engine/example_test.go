package engine_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"github.com/wshub/wshub/engine"
)

// An echo server on a free port, and a gorilla/websocket client talking to
// it.
func ExampleServer() {
	srv := engine.New()
	srv.Handle("/echo", engine.Handler{
		OnMessage: func(c *engine.Conn, op ws.OpCode, msg []byte) { _ = c.Send(op, msg) },
	})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		log.Fatal(err)
	}
	defer func() { _ = srv.Stop(context.Background()) }()

	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, _, err := d.Dial("ws://"+srv.Addr().String()+"/echo", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := c.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		log.Fatal(err)
	}
	_, msg, err := c.ReadMessage()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(msg))
	// Output: hello
}
