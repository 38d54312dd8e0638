package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
)

// TestClientClose: the client starts the closing handshake; the server
// answers with the same code (an empty close for an empty one), closes TCP
// and reports the client's code to OnDisconnect as remote.
func TestClientClose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       []byte
		wantReply  ws.StatusCode // 0: empty close payload
		wantCode   ws.StatusCode
		wantReason string
	}{
		{name: "1000 with reason", body: closeBody(1000, "done"), wantReply: 1000, wantCode: 1000, wantReason: "done"},
		{name: "1000 without reason", body: closeBody(1000, ""), wantReply: 1000, wantCode: 1000},
		{name: "no status (empty payload)", body: nil, wantReply: 0, wantCode: ws.StatusNoStatusRcvd},
		{name: "4000 application code", body: closeBody(4000, "über"), wantReply: 4000, wantCode: 4000, wantReason: "über"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder()
			_, addr := serve(t, rec.handler())
			c := dialUpgraded(t, addr)
			rec.conns.next(t)
			c.Send(closeFrame(tt.body))
			c.ExpectClose(tt.wantReply)
			c.ExpectEOF()
			ce := rec.gone.next(t)
			if ce.Code != tt.wantCode || ce.Reason != tt.wantReason || !ce.Remote {
				t.Errorf("OnDisconnect %+v, want code %d reason %q remote", ce, tt.wantCode, tt.wantReason)
			}
		})
	}
}

// TestServerClose: Conn.Close sends a close frame with its code and reason
// and closes TCP once the client answers; OnDisconnect gets the server's
// code, not remote.
func TestServerClose(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 100) // 200 bytes: cut to at most 123
	tests := []struct {
		name       string
		code       ws.StatusCode
		reason     string
		wantReason string
	}{
		{name: "4000 bye", code: 4000, reason: "bye", wantReason: "bye"},
		{name: "1000 empty reason", code: 1000, reason: "", wantReason: ""},
		{name: "1001 going away", code: 1001, reason: "later", wantReason: "later"},
		{name: "reason over 123 bytes cut at a rune boundary", code: 4999, reason: long, wantReason: long[:122]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec, c, conn := openRecorded(t)
			if err := conn.Close(tt.code, tt.reason); err != nil {
				t.Fatalf("Close: %v", err)
			}
			reason := c.ExpectClose(tt.code)
			if reason != tt.wantReason || !utf8.ValidString(reason) {
				t.Errorf("close reason %q, want %q", reason, tt.wantReason)
			}
			c.Send(closeFrame(closeBody(tt.code, "")))
			c.ExpectEOF()
			ce := rec.gone.next(t)
			// The reason is reported as it was sent (cut to 123 bytes).
			if ce.Code != tt.code || ce.Remote || ce.Reason != tt.wantReason {
				t.Errorf("OnDisconnect %+v, want code %d reason %q by the server", ce, tt.code, tt.wantReason)
			}
		})
	}
}

// TestServerCloseOrder: the close frame goes out after what was sent before
// Close and before (in fact instead of) what is sent after Close returned
// (Conn.Send: "a message queued while the connection is closing is
// dropped").
func TestServerCloseOrder(t *testing.T) {
	t.Parallel()
	sendCloseSend := func(c *engine.Conn) error {
		err := errors.Join(c.SendText("before"), c.Close(4000, "bye"))
		_ = c.SendText("after") // may fail or be dropped; must never be sent
		return err
	}
	tests := []struct {
		name string
		// onLoop calls Send, Close, Send in OnMessage, on the event loop;
		// otherwise the test goroutine calls them.
		onLoop bool
	}{
		{name: "on the event loop", onLoop: true},
		{name: "from another goroutine", onLoop: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder()
			h := rec.handler()
			loopErr := make(chan error, 1)
			h.OnMessage = func(c *engine.Conn, _ ws.OpCode, _ []byte) { loopErr <- sendCloseSend(c) }
			_, addr := serve(t, h)
			c := dialUpgraded(t, addr)
			conn := rec.conns.next(t)
			if tt.onLoop {
				c.Send(text("close me"))
			} else if err := sendCloseSend(conn); err != nil {
				t.Fatalf("send, close, send: %v", err)
			}
			c.ExpectFrame(ws.OpText, []byte("before"))
			c.ExpectClose(4000)
			c.Send(closeFrame(closeBody(4000, "")))
			c.ExpectEOF()
			if !tt.onLoop {
				return
			}
			select {
			case err := <-loopErr:
				if err != nil {
					t.Errorf("send, close, send on the loop: %v", err)
				}
			case <-time.After(waitTimeout):
				t.Fatalf("OnMessage did not run")
			}
		})
	}
}

// TestServerCloseTimeout: a client that never answers the server's close
// frame loses TCP once WithCloseTimeout has passed, not before.
func TestServerCloseTimeout(t *testing.T) {
	t.Parallel()
	const closeTimeout = 300 * time.Millisecond
	rec, c, conn := openRecorded(t, engine.WithCloseTimeout(closeTimeout))
	start := time.Now()
	if err := conn.Close(4000, "bye"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c.ExpectClose(4000)
	c.ExpectEOF()
	if took := time.Since(start); took < closeTimeout || took > closeTimeout+3*time.Second {
		t.Errorf("TCP closed %v after Close, want after the close timeout of %v", took, closeTimeout)
	}
	if ce := rec.gone.next(t); ce.Code != ws.StatusAbnormalClosure || ce.Remote {
		t.Errorf("OnDisconnect %+v, want 1006 by the server: the closing handshake never completed", ce)
	}
}

// TestClientDropsTCP: a client that closes TCP without a close frame is
// reported as 1006, remote, also in the middle of a fragmented message.
func TestClientDropsTCP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		frames []frame // sent before dropping
		raw    []byte  // written after the frames
	}{
		{name: "idle"},
		{name: "after a message", frames: []frame{text("hi")}},
		{name: "inside a fragmented message", frames: fragments(ws.OpText, "unfinished", "x")[:1]},
		{name: "inside a partial frame header", raw: text("abc").Bytes()[:3]},
		{name: "inside a partial payload", raw: text("abcdef").Bytes()[:8]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder()
			_, addr := serve(t, rec.handler())
			c := dialUpgraded(t, addr)
			rec.conns.next(t)
			if len(tt.frames) > 0 {
				c.Send(tt.frames...)
			}
			if len(tt.raw) > 0 {
				c.Write(tt.raw)
			}
			_ = c.Close()
			if ce := rec.gone.next(t); ce.Code != ws.StatusAbnormalClosure || !ce.Remote {
				t.Errorf("OnDisconnect %+v, want 1006 remote", ce)
			}
		})
	}
}

// TestStop: Stop sends 1001 to every client and returns as soon as they
// have answered, or after WithCloseTimeout for clients that do not.
func TestStop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		answer  int // gorilla clients, which answer the close
		silent  int // raw clients, which never answer
		opts    []engine.Option
		maxTook time.Duration // Stop must return within this
	}{
		// The default close timeout is 5 s: returning before it shows
		// that Stop did not wait for it.
		{name: "all clients answer", answer: 20, maxTook: 4 * time.Second},
		// Stop waits for the 300 ms close timeout, not the default 5 s.
		{
			name: "some clients never answer", answer: 5, silent: 3,
			opts:    []engine.Option{engine.WithCloseTimeout(300 * time.Millisecond)},
			maxTook: 4 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder()
			srv, addr := serve(t, rec.handler(), tt.opts...)
			codes := make(chan int, tt.answer)
			var readers sync.WaitGroup
			for range tt.answer {
				c := dialUpgraded(t, addr)
				readers.Add(1)
				go func() {
					defer readers.Done()
					codes <- answerClose(c)
				}()
			}
			raws := make([]*rawConn, tt.silent)
			for i := range raws {
				raws[i] = dialUpgraded(t, addr)
			}
			waitFor(t, "all clients connected", func() bool { return srv.Len() == tt.answer+tt.silent })

			ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
			defer cancel()
			start := time.Now()
			if err := srv.Stop(ctx); err != nil {
				t.Errorf("Stop: %v", err)
			}
			if took := time.Since(start); took > tt.maxTook {
				t.Errorf("Stop took %v, want at most %v", took, tt.maxTook)
			}
			readers.Wait()
			close(codes)
			for code := range codes {
				if code != int(ws.StatusGoingAway) {
					t.Errorf("answering client got close %d, want 1001", code)
				}
			}
			for _, c := range raws {
				c.ExpectClose(ws.StatusGoingAway)
				c.ExpectEOF()
			}
			for range tt.answer + tt.silent {
				rec.gone.next(t)
			}
			if n := srv.Len(); n != 0 {
				t.Errorf("Len after Stop = %d, want 0", n)
			}
			if err := srv.Stop(ctx); !errors.Is(err, engine.ErrNotRunning) {
				t.Errorf("second Stop: %v, want ErrNotRunning", err)
			}
			if nc, err := net.DialTimeout("tcp", addr, waitTimeout); err == nil {
				_ = nc.Close()
				t.Errorf("dial after Stop succeeded")
			}
		})
	}
}

// TestStopRefusesNewHandshakes: while Stop waits for a client that does not
// answer its 1001, a new opening handshake is refused with 503.
func TestStopRefusesNewHandshakes(t *testing.T) {
	t.Parallel()
	srv, addr := serve(t, echo(), engine.WithCloseTimeout(time.Second))
	silent := dialUpgraded(t, addr)
	waitFor(t, "the client to be connected", func() bool { return srv.Len() == 1 })

	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
		defer cancel()
		stopped <- srv.Stop(ctx)
	}()
	silent.ExpectClose(ws.StatusGoingAway) // Stop has begun

	late := dialRaw(t, addr)
	late.Write([]byte(upgradeRequest(addr, wsPath)))
	resp := late.Response()
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("handshake during Stop: %s, want 503", resp.Status)
	}

	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("Stop: %v", err)
		}
	case <-time.After(2 * waitTimeout):
		t.Fatalf("Stop did not return")
	}
	silent.ExpectEOF()
}

// TestCloseBadCode: Close refuses codes that may not be sent and leaves the
// connection open.
func TestCloseBadCode(t *testing.T) {
	t.Parallel()
	_, c, conn := openRecorded(t)
	tests := []struct {
		name string
		code ws.StatusCode
	}{
		{name: "0", code: 0},
		{name: "999 below the range", code: 999},
		{name: "1004 reserved", code: 1004},
		{name: "1005 no status", code: 1005},
		{name: "1006 abnormal closure", code: 1006},
		{name: "1015 TLS handshake", code: 1015},
		{name: "2999 unassigned", code: 2999},
		{name: "5000 above the range", code: 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := conn.Close(tt.code, "x"); !errors.Is(err, engine.ErrBadCloseCode) {
				t.Errorf("Close(%d) = %v, want ErrBadCloseCode", tt.code, err)
			}
		})
	}
	c.Send(text("still open"))
	c.ExpectFrame(ws.OpText, []byte("still open"))
}

// answerClose reads c until the server's close frame, answers it and
// returns the code (-1 on any error). Safe from any goroutine.
func answerClose(c *rawConn) int {
	code, err := c.AnswerClose()
	if err != nil {
		return -1
	}
	return int(code)
}

// TestStopHonorsItsContext: Stop returns soon after its context ends, even
// with clients that never answer the close (the close timeout is 5 s), and
// the server still stops: the leak check after the tests sees no loop left.
func TestStopHonorsItsContext(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	srv, addr := serve(t, rec.handler())
	silent := dialUpgraded(t, addr)
	rec.conns.next(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := srv.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop = %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Stop took %v after a 200 ms context", took)
	}
	silent.ExpectClose(ws.StatusGoingAway)
	// The loops were told to stop: TCP closes without waiting for the answer.
	silent.ExpectEOF()
	if ce := rec.gone.next(t); ce.Code != ws.StatusAbnormalClosure && ce.Code != ws.StatusGoingAway {
		t.Errorf("OnDisconnect %+v", ce)
	}
}

// TestStopFromACallback: Stop called in OnMessage cannot wait for the loop
// it runs on; it returns at once and the shutdown goes on: the client gets
// 1001, and the loops end (the leak check after the tests sees none left).
func TestStopFromACallback(t *testing.T) {
	t.Parallel()
	stopped := make(chan error, 1)
	var srv atomic.Pointer[engine.Server]
	h := engine.Handler{OnMessage: func(*engine.Conn, engine.OpCode, []byte) {
		start := time.Now()
		err := srv.Load().Stop(context.Background())
		if took := time.Since(start); took > time.Second {
			err = fmt.Errorf("Stop blocked its own loop for %v", took)
		}
		stopped <- err
	}}
	s, addr := serve(t, h, engine.WithLoops(1), engine.WithCloseTimeout(200*time.Millisecond))
	srv.Store(s)
	c := dialUpgraded(t, addr)
	c.Send(text("stop"))
	if err := <-stopped; err != nil {
		t.Fatalf("Stop from OnMessage: %v", err)
	}
	c.ExpectClose(ws.StatusGoingAway)
	c.Send(closeFrame(closeBody(1001, "")))
	c.ExpectEOF()
}

// TestPeerCloseCrossesABufferedClose: the server closes a client that has
// not read a large message yet, the client's own close crosses ours, then
// the client reads: it gets the whole message and our close frame before
// TCP closes.
func TestPeerCloseCrossesABufferedClose(t *testing.T) {
	t.Parallel()
	s := startServer(t, engine.Handler{}, engine.WithMaxBacklog(-1))
	c := dial(t, s)
	sc := s.conn(t, c.id)
	big := strings.Repeat("x", 32<<20) // more than the socket buffers hold
	if err := sc.SendText(big); err != nil {
		t.Fatal(err)
	}
	if err := sc.Close(engine.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message to be queued", func() bool { return sc.Backlog() > 0 })
	c.Send(closeFrame(closeBody(1000, "")))
	time.Sleep(100 * time.Millisecond) // the server has read our close
	if _, p, err := c.ReadMessage(); err != nil || len(p) != len(big) {
		t.Fatalf("message: %d of %d bytes, %v", len(p), len(big), err)
	}
	c.ExpectClose(1000)
	c.ExpectEOF()
}
