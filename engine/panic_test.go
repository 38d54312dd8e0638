package engine_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"github.com/wshub/wshub/engine"
)

// lockedBuffer collects the server's log from its event loops.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

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
			trigger: func(c *rawConn) { c.send(text("boom")) },
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
			log := &lockedBuffer{}
			srv := engine.New(engine.WithLoops(1), engine.WithLogger(engine.NewLogger(log, engine.LevelSubtle)))
			srv.Handle("/bad", tt.handler)
			srv.Handle(wsPath, echo())
			srv.HandleHTTP("/page", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("page") }))
			if err := srv.Start("127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { stopServer(t, srv) })
			addr := srv.Addr().String()
			healthy := dialGorilla(t, addr, wsPath)

			c := dialRaw(t, addr)
			c.write([]byte(upgradeRequest(addr, "/bad")))
			c.expectUpgrade()
			tt.trigger(c)
			c.expectClose(ws.StatusInternalServerError)
			c.expectEOF()

			resp, err := http.Get("http://" + addr + "/page")
			if err != nil {
				t.Fatalf("GET /page: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusInternalServerError {
				t.Errorf("GET /page: %d %q, want 500", resp.StatusCode, body)
			}

			if err := healthy.WriteMessage(websocket.TextMessage, []byte("still here")); err != nil {
				t.Fatal(err)
			}
			if _, p, err := healthy.ReadMessage(); err != nil || string(p) != "still here" {
				t.Fatalf("healthy client: %q %v", p, err)
			}
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
