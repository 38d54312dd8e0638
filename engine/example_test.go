package engine_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
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

// OnUpgrade decides before the 101: here a token in a cookie is checked at
// once; a bad one gets 401, and the client never sees the connection open.
func ExampleUpgrade() {
	srv := engine.New()
	srv.Handle("/game", engine.Handler{
		Protocols: []string{"game.v1"},
		OnUpgrade: func(u *engine.Upgrade) {
			if ck, err := u.Cookie("token"); err != nil || ck.Value != "s3cret" {
				_ = u.Refuse(http.StatusUnauthorized, http.Header{"Www-Authenticate": {"Bearer"}}, "bad token")
				return
			}
			_ = u.Accept(engine.AcceptOptions{Value: "player-1"})
		},
		OnMessage: func(c *engine.Conn, op engine.OpCode, msg []byte) {
			_ = c.SendText(fmt.Sprintf("%s (%s) says %s", c.Value(), c.Protocol(), msg))
		},
	})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		log.Fatal(err)
	}
	defer func() { _ = srv.Stop(context.Background()) }()
	url := "ws://" + srv.Addr().String() + "/game"

	d := ws.Dialer{Protocols: []string{"game.v1"}, Header: ws.HandshakeHeaderHTTP{"Cookie": {"token=s3cret"}}}
	nc, _, hs, err := d.Dial(context.Background(), url)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	fmt.Println("protocol:", hs.Protocol)
	say(nc, "hi")

	_, _, _, err = ws.Dialer{}.Dial(context.Background(), url)
	fmt.Println("without the cookie:", err)
	// Output:
	// protocol: game.v1
	// player-1 (game.v1) says hi
	// without the cookie: unexpected HTTP response status: 401
}

// OnUpgrade may decide later, from any goroutine: the connection waits
// (at most the handshake timeout) while its event loop serves the others.
func ExampleUpgrade_deferred() {
	authorize := func(token string) bool { time.Sleep(20 * time.Millisecond); return token == "good" } // a slow service
	srv := engine.New()
	srv.Handle("/ws", engine.Handler{
		OnUpgrade: func(u *engine.Upgrade) {
			token := u.Request().Header.Get("Authorization")
			go func() {
				if !authorize(token) {
					_ = u.Refuse(http.StatusForbidden, nil, "forbidden")
					return
				}
				_ = u.Accept(engine.AcceptOptions{})
			}()
		},
		OnMessage: func(c *engine.Conn, op engine.OpCode, msg []byte) { _ = c.Send(op, msg) },
	})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		log.Fatal(err)
	}
	defer func() { _ = srv.Stop(context.Background()) }()

	d := ws.Dialer{Header: ws.HandshakeHeaderHTTP{"Authorization": {"good"}}}
	nc, _, _, err := d.Dial(context.Background(), "ws://"+srv.Addr().String()+"/ws")
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	say(nc, "authorized")
	// Output: authorized
}
