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
	c.ExpectFrame(ws.OpText, []byte("from a timer"))
	c.ExpectFrame(ws.OpBinary, []byte{0, 1, 2})
	c.ExpectFrame(ws.OpText, []byte("third"))
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
	_, c, conn := openRecorded(t)

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
		h, p, err := c.ReadFrame()
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
		c.Send(text("loop " + strconv.Itoa(k)))
		c.Send(text("get"))
		if _, _, err := c.ReadFrame(); err != nil {
			t.Fatalf("read: %v", err)
		}
	}
	wg.Wait()

	conn.SetValue(struct{ name string }{"final"})
	c.Send(text("get"))
	c.ExpectFrame(ws.OpText, []byte("{final}"))
	c.Send(text("from the loop"))
	c.Send(text("get"))
	c.ExpectFrame(ws.OpText, []byte("from the loop"))
	if v := conn.Value(); v != "from the loop" {
		t.Errorf("Value = %v, want the value set on the loop", v)
	}
	conn.SetValue(nil)
	if v := conn.Value(); v != nil {
		t.Errorf("Value after SetValue(nil) = %v, want nil", v)
	}
}

// TestSendAfterDisconnect: once OnDisconnect has run, Send reports
// engine.ErrClosed (Conn.Send's contract) and Close fails too, and the server
// no longer finds the connection.
func TestSendAfterDisconnect(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	srv, addr := serve(t, rec.handler())
	c := dialUpgraded(t, addr)
	conn := rec.conns.next(t)
	c.Send(closeFrame(closeBody(1000, "")))
	c.ExpectClose(1000)
	c.ExpectEOF()
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
			if err := tt.send(); !errors.Is(err, engine.ErrClosed) {
				t.Errorf("%s after OnDisconnect = %v, want engine.ErrClosed", tt.name, err)
			}
		})
	}
	t.Run("Close", func(t *testing.T) {
		err := conn.Close(1000, "")
		if !errors.Is(err, engine.ErrClosed) {
			t.Errorf("Close after OnDisconnect = %v, want engine.ErrClosed", err)
		}
	})
}

// sendPath is one way an application sends: every one of them goes
// through the same admission rule.
type sendPath struct {
	name string
	send func(srv *engine.Server, c *engine.Conn, op engine.OpCode, p []byte) error
}

// sendPaths are all the ways to send to c (which is in room "r").
var sendPaths = []sendPath{
	{"Conn.Send", func(_ *engine.Server, c *engine.Conn, op engine.OpCode, p []byte) error { return c.Send(op, p) }},
	{"Server.SendTo", func(srv *engine.Server, c *engine.Conn, op engine.OpCode, p []byte) error {
		return srv.SendTo(c.ID(), op, p)
	}},
	{"Server.Broadcast", func(srv *engine.Server, _ *engine.Conn, op engine.OpCode, p []byte) error {
		return srv.Broadcast(op, p)
	}},
	{"Server.BroadcastExcept", func(srv *engine.Server, _ *engine.Conn, op engine.OpCode, p []byte) error {
		return srv.BroadcastExcept(op, p, nil)
	}},
	{"Server.Publish", func(srv *engine.Server, _ *engine.Conn, op engine.OpCode, p []byte) error {
		return srv.Publish("r", op, p)
	}},
	{"Server.PublishExcept", func(srv *engine.Server, _ *engine.Conn, op engine.OpCode, p []byte) error {
		return srv.PublishExcept("r", op, p, nil)
	}},
}

// TestSendRefusesWhatIsNotAMessage: every send path refuses a close frame
// (closing goes through Close), a continuation or reserved opcode and an
// oversized control frame, with the error that says why, and sends nothing.
func TestSendRefusesWhatIsNotAMessage(t *testing.T) {
	t.Parallel()
	joined := newConns()
	h := echo()
	h.OnConnect = func(c *engine.Conn) {
		_ = c.Join("r")
		joined.record(c)
	}
	srv, addr := serve(t, h)
	c := dialUpgraded(t, addr)
	conn := joined.next(t)
	tests := []struct {
		name    string
		op      engine.OpCode
		payload []byte
		want    error
	}{
		{name: "close frame", op: ws.OpClose, payload: closeBody(1000, "bye"), want: engine.ErrCloseFrame},
		{name: "empty close frame", op: ws.OpClose, want: engine.ErrCloseFrame},
		{name: "continuation", op: ws.OpContinuation, payload: []byte("x"), want: engine.ErrBadOpCode},
		{name: "reserved data opcode 3", op: 3, payload: []byte("x"), want: engine.ErrBadOpCode},
		{name: "reserved control opcode 0xB", op: 0xB, payload: []byte("x"), want: engine.ErrBadOpCode},
		{name: "ping of 126 bytes", op: ws.OpPing, payload: make([]byte, 126), want: engine.ErrControlTooLong},
		{name: "pong of 126 bytes", op: ws.OpPong, payload: make([]byte, 126), want: engine.ErrControlTooLong},
	}
	for _, tt := range tests {
		for _, path := range sendPaths {
			t.Run(tt.name+"/"+path.name, func(t *testing.T) {
				panicked, err := callSafely(func() error { return path.send(srv, conn, tt.op, tt.payload) })
				if panicked != nil || !errors.Is(err, tt.want) {
					t.Errorf("%s(%v, %d bytes) = %v, panic %v; want %v", path.name, tt.op, len(tt.payload), err, panicked, tt.want)
				}
			})
		}
	}
	// The largest control frames pass every path.
	for _, path := range sendPaths {
		if err := path.send(srv, conn, ws.OpPing, make([]byte, 125)); err != nil {
			t.Errorf("%s(ping of 125 bytes) = %v", path.name, err)
		}
	}
	for range sendPaths {
		c.ExpectFrame(ws.OpPing, make([]byte, 125))
	}
	// Nothing else was sent: the next frame is the echo.
	c.Send(text("ok"))
	c.ExpectFrame(ws.OpText, []byte("ok"))
}

// callSafely runs fn and returns what it panicked with, or its error.
func callSafely(fn func() error) (panicked any, err error) {
	defer func() { panicked = recover() }()
	return nil, fn()
}
