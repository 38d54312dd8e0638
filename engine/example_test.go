package engine_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/wshub/wshub/engine"
)

// An echo server on a free port, and a client talking to it.
func ExampleServer() {
	srv := engine.New()
	srv.Handle("/echo", engine.Handler{
		OnMessage: func(c *engine.Conn, op engine.OpCode, msg []byte) { _ = c.Send(op, msg) },
	})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		log.Fatal(err)
	}
	defer func() { _ = srv.Stop(context.Background()) }()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, _, _, err := ws.Dial(ctx, "ws://"+srv.Addr().String()+"/echo")
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	say(nc, "hello")
	// Output: hello
}

// say sends msg and prints the answer.
func say(nc net.Conn, msg string) {
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := wsutil.WriteClientText(nc, []byte(msg)); err != nil {
		log.Fatal(err)
	}
	answer, err := wsutil.ReadServerText(nc)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(answer))
}
