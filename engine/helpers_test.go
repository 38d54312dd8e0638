package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"github.com/wshub/wshub/engine"
)

// waitTimeout bounds every wait in this package: a read, a dial, a handshake,
// a callback. A test that hits it fails instead of hanging. It is generous
// because -race on a busy 2-core machine is slow; tests that measure a
// duration use their own, tighter bounds.
const waitTimeout = 10 * time.Second

// wsPath is the WebSocket route of every test server.
const wsPath = "/ws"

// serve starts a server on 127.0.0.1:0 with h on wsPath and stops it when the
// test ends. It returns the server and its "host:port".
func serve(t testing.TB, h engine.Handler, opts ...engine.Option) (*engine.Server, string) {
	t.Helper()
	srv := engine.New(opts...)
	srv.Handle(wsPath, h)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { stopServer(t, srv) })
	return srv, srv.Addr().String()
}

// stopServer stops srv within waitTimeout; a server already stopped by the
// test is fine.
func stopServer(t testing.TB, srv *engine.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
	defer cancel()
	if err := srv.Stop(ctx); err != nil && !errors.Is(err, engine.ErrNotRunning) {
		t.Errorf("Stop: %v", err)
	}
}

// echo answers every message with the same opcode and bytes.
func echo() engine.Handler {
	return engine.Handler{
		OnMessage: func(c *engine.Conn, op ws.OpCode, p []byte) { _ = c.Send(op, p) },
	}
}

// recordCap is the buffer of conns and disconnects: record runs on an event
// loop and must not block it, so no test records more events than this.
const recordCap = 1024

// disconnects records the errors OnDisconnect receives.
type disconnects chan error

func newDisconnects() disconnects { return make(disconnects, recordCap) }

func (d disconnects) record(_ *engine.Conn, err error) { d <- err }

// next waits for one OnDisconnect and returns its *engine.CloseError.
func (d disconnects) next(t testing.TB) *engine.CloseError {
	t.Helper()
	select {
	case err := <-d:
		var ce *engine.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("OnDisconnect got %T %v, want *engine.CloseError", err, err)
		}
		if engine.CloseStatus(err) != ce.Code {
			t.Errorf("CloseStatus = %d, CloseError.Code = %d", engine.CloseStatus(err), ce.Code)
		}
		return ce
	case <-time.After(waitTimeout):
		t.Fatalf("OnDisconnect did not run within %v", waitTimeout)
		return nil
	}
}

// conns hands the *engine.Conn of each OnConnect to the test.
type conns chan *engine.Conn

func newConns() conns { return make(conns, recordCap) }

func (c conns) record(conn *engine.Conn) { c <- conn }

func (c conns) next(t testing.TB) *engine.Conn {
	t.Helper()
	select {
	case conn := <-c:
		return conn
	case <-time.After(waitTimeout):
		t.Fatalf("OnConnect did not run within %v", waitTimeout)
		return nil
	}
}

// recorder is an echo handler that hands OnConnect's conns and
// OnDisconnect's errors to the test.
type recorder struct {
	conns conns
	gone  disconnects
}

func newRecorder() *recorder { return &recorder{conns: newConns(), gone: newDisconnects()} }

func (r *recorder) handler() engine.Handler {
	h := echo()
	h.OnConnect = r.conns.record
	h.OnDisconnect = r.gone.record
	return h
}

// waitFor polls cond until it holds, for at most twice waitTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
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

// abbrev shortens a payload for a failure message.
func abbrev(p []byte) string {
	if len(p) <= 32 {
		return fmt.Sprintf("%q", p)
	}
	return fmt.Sprintf("%q...(%d bytes)", p[:32], len(p))
}

// payloadOf returns n bytes for op: valid UTF-8 with multi-byte runes for
// text, every byte value for binary.
func payloadOf(op ws.OpCode, n int) []byte {
	p := make([]byte, 0, n)
	if op == ws.OpText {
		runes := []rune("aé€𝄞 wörld ")
		for i := 0; ; i++ {
			r := string(runes[i%len(runes)])
			if len(p)+len(r) > n {
				break
			}
			p = append(p, r...)
		}
		for len(p) < n {
			p = append(p, 'z')
		}
		return p
	}
	for i := range n {
		p = append(p, byte(i*7+i/251))
	}
	return p
}

// parallelN runs fn(i) for i in [0, n) on at most workers goroutines and
// waits for all of them.
func parallelN(n, workers int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
