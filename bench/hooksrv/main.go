// Command hooksrv is wshub with an upgrade hook, for the connect
// scenario of scripts/bench.sh: the cost of Handler.OnUpgrade, decided in
// the hook (sync) or later from another goroutine (deferred), against the
// same server without one (none). Both hooked modes check the query's room
// the same way (mode none lets every request through), so that between them
// only where the decision is made differs.
//
//	hooksrv -addr 127.0.0.1:0 -hook none|sync|deferred
//
// Route "/ws?room=NAME": the connection joins the room. It prints
// "listening on HOST:PORT" to stderr once listening, and stops on SIGINT or
// SIGTERM (every client gets 1001).
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wshub/wshub/engine"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	mode := flag.String("hook", "none", "none, sync or deferred")
	loops := flag.Int("loops", 1, "event loops")
	flag.Parse()
	h := engine.Handler{
		OnConnect: func(c *engine.Conn) {
			q, _ := c.Query()
			_ = c.Join(q.Get("room"))
		},
	}
	check := func(u *engine.Upgrade) {
		if q, err := url.ParseQuery(u.Request().RawQuery); err != nil || q.Get("room") == "" {
			_ = u.Refuse(400, nil, "a room is required\n")
			return
		}
		_ = u.Accept(engine.AcceptOptions{})
	}
	switch *mode {
	case "none":
	case "sync":
		h.OnUpgrade = check
	case "deferred":
		h.OnUpgrade = func(u *engine.Upgrade) { go check(u) }
	default:
		fmt.Fprintf(os.Stderr, "hooksrv: unknown -hook %q\n", *mode)
		os.Exit(2)
	}
	srv := engine.New(engine.WithLoops(*loops), engine.WithLogger(engine.NewLogger(os.Stderr, engine.LevelNothing)))
	srv.Handle("/ws", h)
	if err := srv.Start(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "hooksrv:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "listening on %s\n", srv.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-wait(srv):
		fmt.Fprintln(os.Stderr, "hooksrv: server stopped:", err)
		os.Exit(1)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Stop(sctx)
}

// wait reports the server's own stop.
func wait(srv *engine.Server) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- srv.Wait() }()
	return ch
}
