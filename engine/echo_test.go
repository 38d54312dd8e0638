package engine_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"github.com/wshub/wshub/engine"
)

// client is a third-party WebSocket client under test: it sends one message
// and returns the next message it receives.
type client struct {
	name string
	// roundTrip dials path, sends op/payload and reads one message.
	roundTrip func(t *testing.T, addr string, op ws.OpCode, payload []byte) (ws.OpCode, []byte, error)
}

var clients = []client{
	{name: "gorilla", roundTrip: gorillaRoundTrip},
	{name: "coder", roundTrip: coderRoundTrip},
}

func gorillaRoundTrip(t *testing.T, addr string, op ws.OpCode, payload []byte) (ws.OpCode, []byte, error) {
	c := dialGorilla(t, addr, wsPath)
	_ = c.SetWriteDeadline(time.Now().Add(waitTimeout))
	if err := c.WriteMessage(int(op), payload); err != nil {
		return 0, nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	typ, p, err := c.ReadMessage()
	return ws.OpCode(typ), p, err
}

func coderRoundTrip(t *testing.T, addr string, op ws.OpCode, payload []byte) (ws.OpCode, []byte, error) {
	c := dialCoder(t, addr, wsPath)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.Write(ctx, coder.MessageType(op), payload); err != nil {
		return 0, nil, err
	}
	typ, p, err := c.Read(ctx)
	return ws.OpCode(typ), p, err
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

// TestEcho sends messages of every length form (7-bit, 16-bit, 64-bit) up
// to the default cap with gorilla/websocket (which fragments large messages
// into 4 KiB frames) and coder/websocket (one frame), as text and binary,
// and expects the same opcode and bytes back.
func TestEcho(t *testing.T) {
	t.Parallel()
	_, addr := serve(t, echo())
	sizes := []struct {
		name string
		size int
	}{
		{name: "empty", size: 0},
		{name: "125 max 7-bit length", size: 125},
		{name: "126 min 16-bit length", size: 126},
		{name: "65535 max 16-bit length", size: 65535},
		{name: "65536 min 64-bit length", size: 65536},
		{name: "1MiB default cap", size: 1 << 20},
	}
	ops := []struct {
		name string
		op   ws.OpCode
	}{
		{name: "text", op: ws.OpText},
		{name: "binary", op: ws.OpBinary},
	}
	for _, cl := range clients {
		for _, op := range ops {
			for _, sz := range sizes {
				t.Run(cl.name+"/"+op.name+"/"+sz.name, func(t *testing.T) {
					t.Parallel()
					payload := payloadOf(op.op, sz.size)
					gotOp, got, err := cl.roundTrip(t, addr, op.op, payload)
					if err != nil {
						t.Fatalf("round trip: %v", err)
					}
					if gotOp != op.op {
						t.Errorf("opcode %v, want %v", gotOp, op.op)
					}
					if !bytes.Equal(got, payload) {
						t.Errorf("payload %s, want %s", abbrev(got), abbrev(payload))
					}
				})
			}
		}
	}
}

// TestMessageTooBig sends one byte more than the cap and expects close 1009
// at the client and in OnDisconnect.
func TestMessageTooBig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []engine.Option
		size int
	}{
		{name: "default cap 1MiB+1", size: 1<<20 + 1},
		{name: "WithMaxMessage(1000) 1001", opts: []engine.Option{engine.WithMaxMessage(1000)}, size: 1001},
	}
	for _, cl := range clients {
		for _, tt := range tests {
			t.Run(cl.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				gone := newDisconnects()
				h := echo()
				h.OnDisconnect = gone.record
				_, addr := serve(t, h, tt.opts...)

				// One byte less than too big still passes.
				fits := payloadOf(ws.OpBinary, tt.size-1)
				if _, got, err := cl.roundTrip(t, addr, ws.OpBinary, fits); err != nil || !bytes.Equal(got, fits) {
					t.Fatalf("message at the cap: %s, %v", abbrev(got), err)
				}

				_, got, err := cl.roundTrip(t, addr, ws.OpBinary, payloadOf(ws.OpBinary, tt.size))
				if code := closeCodeOf(err); code != int(ws.StatusMessageTooBig) {
					t.Fatalf("got %s, %v (close code %d), want close 1009", abbrev(got), err, code)
				}
				if ce := gone.next(t); ce.Code != ws.StatusMessageTooBig || ce.Remote {
					t.Errorf("OnDisconnect %+v, want code 1009 by the server", ce)
				}
			})
		}
	}
}
