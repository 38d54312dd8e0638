package e2e_test

import (
	"context"
	"errors"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/demo"
	"github.com/wshub/wshub/internal/wstest"
)

// waitTimeout bounds every wait of these tests.
const waitTimeout = wstest.Timeout

// TestMain fails the package if a goroutine outlives the tests. Ignored:
// the housekeeping of gnet's package-level ants worker pool, which is never
// released, and chromedp's process reaper.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreCurrent(),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*goWorker).run.func1"),
	)
}

// serve starts a server on 127.0.0.1:0 with h on path; cleanup stops it.
func serve(t testing.TB, path string, h engine.Handler, opts ...engine.Option) *engine.Server {
	t.Helper()
	srv := engine.New(opts...)
	srv.Handle(path, h)
	start(t, srv)
	return srv
}

// startDemo runs the chat demo as cmd/wshub serves it by default
// (permessage-deflate on) on a free port.
func startDemo(t testing.TB) string {
	t.Helper()
	srv, err := demo.NewServer(demo.Config{Stats: true, Compression: engine.Compression{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	start(t, srv)
	return srv.Addr().String()
}

func start(t testing.TB, srv *engine.Server) { t.Helper(); wstest.Start(t, srv) }

// echo answers every message with the same opcode and bytes.
func echo() engine.Handler {
	return engine.Handler{
		OnMessage: func(c *engine.Conn, op engine.OpCode, p []byte) { _ = c.Send(op, p) },
	}
}

// dialGorilla opens a gorilla/websocket client on path.
func dialGorilla(t testing.TB, addr, path string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: waitTimeout}
	c, resp, err := d.Dial("ws://"+addr+path, nil)
	if err != nil {
		t.Fatalf("gorilla dial %s%s: %v", addr, path, err)
	}
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// writeGorilla sends one message from a gorilla client.
func writeGorilla(t testing.TB, c *websocket.Conn, typ int, msg string) {
	t.Helper()
	_ = c.SetWriteDeadline(time.Now().Add(waitTimeout))
	if err := c.WriteMessage(typ, []byte(msg)); err != nil {
		t.Fatalf("gorilla write: %v", err)
	}
}

// dialCoder opens a coder/websocket client on path, reading messages up to
// 4 MiB.
func dialCoder(t testing.TB, addr, path string) *coder.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, resp, err := coder.Dial(ctx, "ws://"+addr+path, nil)
	if err != nil {
		t.Fatalf("coder dial %s%s: %v", addr, path, err)
	}
	if resp.Body != nil {
		_ = resp.Body.Close()
	}
	c.SetReadLimit(4 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

// closeCodeOf returns the close code a client's read error carries, or -1.
func closeCodeOf(err error) int {
	var ge *websocket.CloseError
	if errors.As(err, &ge) {
		return ge.Code
	}
	if code := coder.CloseStatus(err); code != -1 {
		return int(code)
	}
	return -1
}
