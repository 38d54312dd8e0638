package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/wstest"
)

// client is a third-party WebSocket client under test.
type client struct {
	name string
	dial func(t *testing.T, addr, path string) peer
}

// peer is the part of a client library the tests use.
type peer interface {
	write(op engine.OpCode, p []byte) error
	read() (engine.OpCode, []byte, error)
	// closeWith starts the closing handshake from the client.
	closeWith(code int, reason string) error
}

var clients = []client{
	{name: "gorilla", dial: func(t *testing.T, addr, path string) peer { return gorillaPeer{dialGorilla(t, addr, path)} }},
	{name: "coder", dial: func(t *testing.T, addr, path string) peer { return coderPeer{dialCoder(t, addr, path)} }},
}

type gorillaPeer struct{ c *websocket.Conn }

func (g gorillaPeer) write(op engine.OpCode, p []byte) error {
	_ = g.c.SetWriteDeadline(time.Now().Add(waitTimeout))
	return g.c.WriteMessage(int(op), p)
}

func (g gorillaPeer) read() (engine.OpCode, []byte, error) {
	_ = g.c.SetReadDeadline(time.Now().Add(waitTimeout))
	typ, p, err := g.c.ReadMessage()
	return engine.OpCode(typ), p, err
}

func (g gorillaPeer) closeWith(code int, reason string) error {
	return g.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(waitTimeout))
}

type coderPeer struct{ c *coder.Conn }

func (k coderPeer) write(op engine.OpCode, p []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return k.c.Write(ctx, coder.MessageType(op), p)
}

func (k coderPeer) read() (engine.OpCode, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	typ, p, err := k.c.Read(ctx)
	return engine.OpCode(typ), p, err
}

// closeWith runs coder's whole closing handshake: it returns once the
// server has answered.
func (k coderPeer) closeWith(code int, reason string) error {
	return k.c.Close(coder.StatusCode(code), reason)
}

// TestEcho sends messages of every length form (7-bit, 16-bit, 64-bit) up
// to the default cap with gorilla/websocket (which fragments large messages
// into 4 KiB frames) and coder/websocket (one frame), as text and binary,
// and expects the same opcode and bytes back.
func TestEcho(t *testing.T) {
	t.Parallel()
	srv := serve(t, "/ws", echo())
	addr := srv.Addr().String()
	sizes := []int{0, 125, 126, 65535, 65536, 1 << 20}
	for _, cl := range clients {
		for _, op := range []engine.OpCode{engine.OpText, engine.OpBinary} {
			for _, size := range sizes {
				t.Run(fmt.Sprintf("%s/%v/%d", cl.name, op, size), func(t *testing.T) {
					t.Parallel()
					c := cl.dial(t, addr, "/ws")
					payload := wstest.Payload(op, size)
					if err := c.write(op, payload); err != nil {
						t.Fatalf("write: %v", err)
					}
					gotOp, got, err := c.read()
					if err != nil || gotOp != op || !bytes.Equal(got, payload) {
						t.Fatalf("got %v %d bytes, %v; want %v %d bytes", gotOp, len(got), err, op, len(payload))
					}
				})
			}
		}
	}
}

// TestMessageTooBig: one byte over the cap closes with 1009 at the client.
func TestMessageTooBig(t *testing.T) {
	t.Parallel()
	srv := serve(t, "/ws", echo(), engine.WithMaxMessage(1000))
	for _, cl := range clients {
		t.Run(cl.name, func(t *testing.T) {
			t.Parallel()
			c := cl.dial(t, srv.Addr().String(), "/ws")
			if err := c.write(engine.OpBinary, make([]byte, 1001)); err != nil {
				t.Fatalf("write: %v", err)
			}
			_, _, err := c.read()
			if code := closeCodeOf(err); code != int(engine.StatusMessageTooBig) {
				t.Fatalf("read: %v (close code %d), want close 1009", err, code)
			}
		})
	}
}

// disconnects records what OnDisconnect receives.
type disconnects chan *engine.CloseError

func (d disconnects) record(_ *engine.Conn, err error) {
	var ce *engine.CloseError
	if errors.As(err, &ce) {
		d <- ce
	}
}

func (d disconnects) next(t *testing.T) *engine.CloseError {
	t.Helper()
	select {
	case ce := <-d:
		return ce
	case <-time.After(waitTimeout):
		t.Fatal("OnDisconnect did not run")
		return nil
	}
}

// TestClientClose: the client starts the closing handshake; the server
// answers with the client's code and reports it as the peer's.
func TestClientClose(t *testing.T) {
	t.Parallel()
	for _, cl := range clients {
		t.Run(cl.name, func(t *testing.T) {
			t.Parallel()
			gone := make(disconnects, 1)
			h := echo()
			h.OnDisconnect = gone.record
			srv := serve(t, "/ws", h)
			c := cl.dial(t, srv.Addr().String(), "/ws")
			if err := c.closeWith(4000, "bye"); err != nil {
				t.Fatalf("close: %v", err)
			}
			if cl.name == "gorilla" { // gorilla reports the server's answer on its next read
				if _, _, err := c.read(); closeCodeOf(err) != 4000 {
					t.Fatalf("read after close: %v, want close 4000", err)
				}
			}
			if ce := gone.next(t); ce.Code != 4000 || ce.Reason != "bye" || !ce.Remote {
				t.Errorf("OnDisconnect %+v, want 4000 \"bye\" by the peer", ce)
			}
		})
	}
}

// TestServerClose: Conn.Close with an application code and with the
// registered 1012-1014 (try again later is what a server at its limits
// sends): the client gets the code and answers it, and OnDisconnect
// reports the server's code after a clean closing handshake.
func TestServerClose(t *testing.T) {
	t.Parallel()
	for _, cl := range clients {
		for _, code := range []engine.StatusCode{engine.StatusNormalClosure, engine.StatusTryAgainLater,
			engine.StatusServiceRestart, 4321} {
			t.Run(fmt.Sprintf("%s/%d", cl.name, code), func(t *testing.T) {
				t.Parallel()
				gone := make(disconnects, 1)
				h := engine.Handler{
					OnMessage:    func(c *engine.Conn, _ engine.OpCode, _ []byte) { _ = c.Close(code, "later") },
					OnDisconnect: gone.record,
				}
				srv := serve(t, "/ws", h)
				c := cl.dial(t, srv.Addr().String(), "/ws")
				if err := c.write(engine.OpText, []byte("close me")); err != nil {
					t.Fatal(err)
				}
				_, _, err := c.read()
				if got := closeCodeOf(err); got != int(code) {
					t.Fatalf("read: %v (close code %d), want close %d", err, got, code)
				}
				if ce := gone.next(t); ce.Code != code || ce.Remote || ce.Reason != "later" {
					t.Errorf("OnDisconnect %+v, want %d \"later\" by the server", ce, code)
				}
			})
		}
	}
}

// TestRoomsAcrossClients: gorilla and coder clients in one room get every
// publish in order, and the broadcasts; Stop closes both with 1001.
func TestRoomsAcrossClients(t *testing.T) {
	t.Parallel()
	joined := make(chan *engine.Conn, 16)
	srv := serve(t, "/ws", engine.Handler{
		OnConnect: func(c *engine.Conn) {
			_ = c.Join("r")
			joined <- c
		},
		OnMessage: func(c *engine.Conn, op engine.OpCode, p []byte) { _ = c.Server().Publish("r", op, p) },
	})
	addr := srv.Addr().String()
	var peers []peer
	for _, cl := range clients {
		for range 2 {
			peers = append(peers, cl.dial(t, addr, "/ws"))
			<-joined
		}
	}
	const n = 20
	for i := range n {
		if err := peers[i%len(peers)].write(engine.OpText, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
		// One sender at a time keeps a global order to check.
		for k, p := range peers {
			if _, got, err := p.read(); err != nil || string(got) != fmt.Sprint("m", i) {
				t.Fatalf("peer %d: %q, %v; want m%d", k, got, err, i)
			}
		}
	}
	if err := srv.Broadcast(engine.OpBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	for k, p := range peers {
		if op, got, err := p.read(); err != nil || op != engine.OpBinary || !bytes.Equal(got, []byte{1, 2, 3}) {
			t.Fatalf("peer %d: %v %q, %v", k, op, got, err)
		}
	}
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		stopped <- srv.Stop(ctx)
	}()
	for k, p := range peers {
		if _, _, err := p.read(); closeCodeOf(err) != int(engine.StatusGoingAway) {
			t.Errorf("peer %d after Stop: %v, want close 1001", k, err)
		}
	}
	if err := <-stopped; err != nil {
		t.Errorf("Stop: %v", err)
	}
}
