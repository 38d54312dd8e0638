package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
)

// TestCloseCodes: Close takes every code an endpoint may send (RFC 6455
// §7.4 and the IANA registry); the client gets it, and when the client
// answers with the same code, as client libraries and browsers do, the
// closing handshake completes cleanly with that code.
func TestCloseCodes(t *testing.T) {
	t.Parallel()
	codes := []ws.StatusCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
		engine.StatusServiceRestart, engine.StatusTryAgainLater, engine.StatusBadGateway, 3000, 3999, 4000, 4999}
	for _, code := range codes {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			rec, c, conn := openRecorded(t)
			if err := conn.Close(code, "try again later"); err != nil {
				t.Fatalf("Close(%d): %v", code, err)
			}
			if reason := c.ExpectClose(code); reason != "try again later" {
				t.Errorf("reason %q", reason)
			}
			c.Send(closeFrame(closeBody(code, "")))
			c.ExpectEOF()
			if ce := rec.gone.next(t); ce.Code != code || ce.Remote || ce.Reason != "try again later" {
				t.Errorf("OnDisconnect %+v, want %d by the server", ce, code)
			}
		})
	}
}

// TestCloseWhileClosing: once a close has started, by Close or by the
// peer, Close and every send say so (ErrClosing) instead of succeeding;
// once the connection is gone they say ErrClosed.
func TestCloseWhileClosing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		start func(t *testing.T, c *rawConn, conn *engine.Conn)
		end   func(c *rawConn) // completes the close
	}{
		{
			name: "Close",
			start: func(t *testing.T, c *rawConn, conn *engine.Conn) {
				if err := conn.Close(4000, "first"); err != nil {
					t.Fatalf("first Close: %v", err)
				}
				c.ExpectClose(4000)
			},
			end: func(c *rawConn) { c.Send(closeFrame(closeBody(4000, ""))) },
		},
		{
			name: "the peer's close",
			start: func(t *testing.T, c *rawConn, _ *engine.Conn) {
				c.Send(closeFrame(closeBody(1000, "")))
				c.ExpectClose(1000)
				c.ExpectEOF() // the server shut its side and lingers
			},
			end: func(c *rawConn) { _ = c.Close() },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec, c, conn := openRecorded(t)
			tt.start(t, c, conn)
			calls := map[string]func() error{
				"Close":    func() error { return conn.Close(1000, "second") },
				"Send":     func() error { return conn.SendText("late") },
				"Join":     func() error { return conn.Join("r") },
				"SendTo":   func() error { return conn.Server().SendTo(conn.ID(), engine.OpText, []byte("late")) },
				"SendPing": func() error { return conn.Send(engine.OpPing, nil) },
			}
			for name, call := range calls {
				if err := call(); !errors.Is(err, engine.ErrClosing) {
					t.Errorf("%s while closing = %v, want ErrClosing", name, err)
				}
			}
			tt.end(c)
			rec.gone.next(t)
			for name, call := range calls {
				want := engine.ErrClosed
				if name == "SendTo" {
					want = engine.ErrNotFound
				}
				if err := call(); !errors.Is(err, want) {
					t.Errorf("%s once gone = %v, want %v", name, err, want)
				}
			}
		})
	}
}

// TestNothingAfterClose: however a close starts (the application, from
// the loop or another goroutine, the peer, a protocol violation, a panic,
// Stop), the client reads exactly one close frame and nothing after it,
// while every send path keeps sending to the connection from another
// goroutine, and from the loop right after the close.
func TestNothingAfterClose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// start begins the close; c is the client, conn the server side.
		start func(t *testing.T, srv *engine.Server, c *rawConn, conn *engine.Conn)
		code  ws.StatusCode // of the close frame the client reads
	}{
		{name: "Close from another goroutine", code: 4000,
			start: func(t *testing.T, _ *engine.Server, _ *rawConn, conn *engine.Conn) {
				if err := conn.Close(4000, "bye"); err != nil {
					t.Errorf("Close: %v", err)
				}
			}},
		{name: "Close on the loop", code: 4001,
			start: func(_ *testing.T, _ *engine.Server, c *rawConn, _ *engine.Conn) { c.Send(text("close")) }},
		{name: "the peer's close", code: 1000,
			start: func(_ *testing.T, _ *engine.Server, c *rawConn, _ *engine.Conn) {
				c.Send(closeFrame(closeBody(1000, "")))
			}},
		{name: "protocol violation", code: ws.StatusProtocolError,
			start: func(_ *testing.T, _ *engine.Server, c *rawConn, _ *engine.Conn) {
				c.Send(frame{Fin: true, Op: ws.OpText, Payload: []byte("unmasked"), Unmasked: true})
			}},
		{name: "panic in OnMessage", code: ws.StatusInternalServerError,
			start: func(_ *testing.T, _ *engine.Server, c *rawConn, _ *engine.Conn) { c.Send(text("panic")) }},
		{name: "Stop", code: ws.StatusGoingAway,
			start: func(t *testing.T, srv *engine.Server, _ *rawConn, _ *engine.Conn) {
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
					defer cancel()
					if err := srv.Stop(ctx); err != nil {
						t.Errorf("Stop: %v", err)
					}
				}()
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder()
			h := rec.handler()
			h.OnConnect = func(c *engine.Conn) {
				_ = c.Join("r")
				rec.conns.record(c)
			}
			h.OnMessage = func(c *engine.Conn, _ engine.OpCode, p []byte) {
				switch string(p) {
				case "close":
					_ = c.Close(4001, "from the loop")
					floodOnce(c.Server(), c, "after close, on the loop")
				case "panic":
					panic("on purpose")
				}
			}
			srv, addr := serve(t, h, engine.WithCloseTimeout(300*time.Millisecond))
			c := dialUpgraded(t, addr)
			conn := rec.conns.next(t)

			stop := make(chan struct{})
			var flooders sync.WaitGroup
			flooders.Go(func() {
				for i := 0; i < 20000; i++ {
					select {
					case <-stop:
						return
					default:
					}
					floodOnce(srv, conn, fmt.Sprint("flood ", i))
				}
			})
			defer func() { close(stop); flooders.Wait() }()
			tt.start(t, srv, c, conn)

			// Read everything until EOF: one close frame, last.
			closes, after := 0, 0
			var last []byte
			for {
				h, p, err := c.ReadFrame()
				if err != nil {
					break
				}
				switch {
				case h.OpCode == ws.OpClose:
					closes++
					last = p
				case closes > 0:
					after++
				}
			}
			if closes != 1 || after != 0 {
				t.Fatalf("read %d close frames and %d frames after the first; want exactly one close frame, last", closes, after)
			}
			if len(last) < 2 || ws.StatusCode(last[0])<<8|ws.StatusCode(last[1]) != tt.code {
				t.Errorf("close frame %q, want code %d", last, tt.code)
			}
			_ = c.Close()
			rec.gone.next(t)
		})
	}
}

// floodOnce sends one message to c through every send path.
func floodOnce(srv *engine.Server, c *engine.Conn, msg string) {
	for _, path := range sendPaths {
		_ = path.send(srv, c, engine.OpText, []byte(msg))
	}
}
