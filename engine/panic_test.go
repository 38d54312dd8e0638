package engine_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/wstest"
)

// TestHandlerPanic: a panic in a callback fails only that connection (close
// 1011, or HTTP 500 on an HTTP route) and is logged with its stack; the loop
// and its other connections carry on.
func TestHandlerPanic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler engine.Handler
		trigger func(c *rawConn) // makes the callback panic
	}{
		{
			name:    "OnMessage",
			handler: engine.Handler{OnMessage: panicOn("boom")},
			trigger: func(c *rawConn) { c.Send(text("boom")) },
		},
		{
			name:    "OnConnect",
			handler: engine.Handler{OnConnect: func(*engine.Conn) { panic("no") }},
			trigger: func(*rawConn) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := &wstest.LockedBuffer{}
			srv := engine.New(engine.WithLoops(1), engine.WithLogger(engine.NewLogger(log, engine.LevelSubtle)))
			srv.Handle("/bad", tt.handler)
			srv.Handle(wsPath, echo())
			srv.HandleHTTP("/page", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("page") }))
			if err := srv.Start("127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { stopServer(t, srv) })
			addr := srv.Addr().String()
			healthy := dialUpgraded(t, addr)

			c := dialRaw(t, addr)
			c.Write([]byte(upgradeRequest(addr, "/bad")))
			c.ExpectUpgrade()
			tt.trigger(c)
			c.ExpectClose(ws.StatusInternalServerError)
			c.ExpectEOF()

			resp, err := http.Get("http://" + addr + "/page")
			if err != nil {
				t.Fatalf("GET /page: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusInternalServerError {
				t.Errorf("GET /page: %d %q, want 500", resp.StatusCode, body)
			}

			healthy.Send(text("still here"))
			healthy.ExpectFrame(ws.OpText, []byte("still here"))
			if out := log.String(); !strings.Contains(out, "handler panicked") || !strings.Contains(out, "goroutine") {
				t.Errorf("log has no panic with a stack:\n%s", out)
			}
		})
	}
}

func panicOn(msg string) func(*engine.Conn, ws.OpCode, []byte) {
	return func(c *engine.Conn, op ws.OpCode, p []byte) {
		if string(p) == msg {
			panic(msg)
		}
		_ = c.Send(op, p)
	}
}
