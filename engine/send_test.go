package engine_test

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/hub"
)

// TestSendFromOtherGoroutine sends with every Send method from a timer's
// goroutine, not the event loop: the messages arrive, in order.
func TestSendFromOtherGoroutine(t *testing.T) {
	t.Parallel()
	errs := make(chan error, 3)
	h := engine.Handler{
		OnConnect: func(c *engine.Conn) {
			time.AfterFunc(20*time.Millisecond, func() {
				errs <- errors.Join(
					c.SendText("from a timer"),
					c.SendBinary([]byte{0, 1, 2}),
					c.Send(ws.OpText, []byte("third")),
				)
			})
		},
	}
	_, addr := serve(t, h)
	c := dialUpgraded(t, addr)
	c.expectFrame(ws.OpText, []byte("from a timer"))
	c.expectFrame(ws.OpBinary, []byte{0, 1, 2})
	c.expectFrame(ws.OpText, []byte("third"))
	select {
	case err := <-errs:
		if err != nil {
			t.Errorf("Send: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("the timer's sends did not return")
	}
}

// TestConcurrentSends sends from many goroutines at once: every message
// arrives once, and each goroutine's messages keep their order.
func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	const senders, each = 8, 200
	rec := newRecorder()
	_, addr := serve(t, rec.handler())
	c := dialUpgraded(t, addr)
	conn := rec.conns.next(t)

	var wg sync.WaitGroup
	sendErrs := make([]error, senders)
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				if err := conn.SendText(fmt.Sprintf("%d %d", g, k)); err != nil {
					sendErrs[g] = err
					return
				}
			}
		}()
	}
	next := make([]int, senders)
	for range senders * each {
		h, p, err := c.readFrame()
		if err != nil {
			t.Fatalf("read: %v (next per sender %v)", err, next)
		}
		var g, k int
		if _, err := fmt.Sscanf(string(p), "%d %d", &g, &k); err != nil || h.OpCode != ws.OpText || g < 0 || g >= senders {
			t.Fatalf("unexpected frame %v %q", h.OpCode, p)
		}
		if k != next[g] {
			t.Fatalf("sender %d: message %d arrived when %d was next", g, k, next[g])
		}
		next[g]++
	}
	wg.Wait()
	if err := errors.Join(sendErrs...); err != nil {
		t.Errorf("SendText: %v", err)
	}
}

// TestValueConcurrent calls SetValue and Value from several goroutines while
// OnMessage reads the value on the event loop; -race checks them.
func TestValueConcurrent(t *testing.T) {
	t.Parallel()
	connected := newConns()
	h := engine.Handler{
		OnConnect: func(c *engine.Conn) {
			c.SetValue("initial")
			connected.record(c)
		},
		OnMessage: func(c *engine.Conn, _ ws.OpCode, p []byte) {
			if string(p) == "get" {
				_ = c.SendText(fmt.Sprint(c.Value()))
				return
			}
			c.SetValue(string(p))
		},
	}
	_, addr := serve(t, h)
	c := dialUpgraded(t, addr)
	conn := connected.next(t)
	if v := conn.Value(); v != "initial" {
		t.Fatalf("Value = %v, want initial", v)
	}

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 500 {
				conn.SetValue(g*1000 + k)
				_ = conn.Value()
			}
		}()
	}
	for k := range 50 { // meanwhile, the loop sets and reads it too
		c.send(text("loop " + strconv.Itoa(k)))
		c.send(text("get"))
		if _, _, err := c.readFrame(); err != nil {
			t.Fatalf("read: %v", err)
		}
	}
	wg.Wait()

	conn.SetValue(struct{ name string }{"final"})
	c.send(text("get"))
	c.expectFrame(ws.OpText, []byte("{final}"))
	c.send(text("from the loop"))
	c.send(text("get"))
	c.expectFrame(ws.OpText, []byte("from the loop"))
	if v := conn.Value(); v != "from the loop" {
		t.Errorf("Value = %v, want the value set on the loop", v)
	}
	conn.SetValue(nil)
	if v := conn.Value(); v != nil {
		t.Errorf("Value after SetValue(nil) = %v, want nil", v)
	}
}

// TestSendAfterDisconnect: once OnDisconnect has run, Send reports
// hub.ErrClosed (Conn.Send's contract) and Close fails too, and the server
// no longer finds the connection.
func TestSendAfterDisconnect(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	srv, addr := serve(t, rec.handler())
	c := dialUpgraded(t, addr)
	conn := rec.conns.next(t)
	c.send(closeFrame(closeBody(1000, "")))
	c.expectClose(1000)
	c.expectEOF()
	rec.gone.next(t)

	if _, ok := srv.Get(conn.ID()); ok {
		t.Errorf("Get finds the connection after OnDisconnect")
	}
	tests := []struct {
		name string
		send func() error
	}{
		{name: "Send", send: func() error { return conn.Send(ws.OpText, []byte("late")) }},
		{name: "SendText", send: func() error { return conn.SendText("late") }},
		{name: "SendBinary", send: func() error { return conn.SendBinary([]byte("late")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.send(); !errors.Is(err, hub.ErrClosed) {
				t.Errorf("%s after OnDisconnect = %v, want hub.ErrClosed", tt.name, err)
			}
		})
	}
	t.Run("Close", func(t *testing.T) {
		err := conn.Close(1000, "")
		if !errors.Is(err, hub.ErrClosed) {
			t.Errorf("Close after OnDisconnect = %v, want hub.ErrClosed", err)
		}
	})
}

// TestSendBadOpcode: Send and Broadcast refuse what is not a message
// (continuation, reserved opcodes, an oversized control frame) with an
// error instead of panicking, and send nothing.
func TestSendBadOpcode(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	srv, addr := serve(t, rec.handler())
	c := dialUpgraded(t, addr)
	conn := rec.conns.next(t)
	tests := []struct {
		name    string
		op      ws.OpCode
		payload []byte
	}{
		{name: "continuation", op: ws.OpContinuation, payload: []byte("x")},
		{name: "reserved data opcode 3", op: 3, payload: []byte("x")},
		{name: "reserved control opcode 0xB", op: 0xB, payload: []byte("x")},
		{name: "ping of 126 bytes", op: ws.OpPing, payload: make([]byte, 126)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := []struct {
				name string
				call func() error
			}{
				{name: "Conn.Send", call: func() error { return conn.Send(tt.op, tt.payload) }},
				{name: "Server.Broadcast", call: func() error { return srv.Broadcast(tt.op, tt.payload) }},
				{name: "Hub.Publish", call: func() error { return srv.Hub().Publish("r", tt.op, tt.payload) }},
			}
			for _, cl := range calls {
				panicked, err := callSafely(cl.call)
				if panicked != nil || err == nil {
					t.Errorf("%s(%v, %d bytes) = %v, panic %v; want an error", cl.name, tt.op, len(tt.payload), err, panicked)
				}
			}
		})
	}
	// Conn.Send refuses close frames too: closing goes through Close.
	if err := conn.Send(ws.OpClose, []byte{0x03, 0xe8}); !errors.Is(err, hub.ErrBadOpCode) {
		t.Errorf("Conn.Send(OpClose) = %v, want hub.ErrBadOpCode", err)
	}
	// Nothing was sent: the next frame is the echo.
	c.send(text("ok"))
	c.expectFrame(ws.OpText, []byte("ok"))
}

// callSafely runs fn and returns what it panicked with, or its error.
func callSafely(fn func() error) (panicked any, err error) {
	defer func() { panicked = recover() }()
	return nil, fn()
}
