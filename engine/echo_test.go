package engine_test

import (
	"bytes"
	"testing"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/wstest"
)

// sender is how a test client sends one message: in one frame, or split
// into 4 KiB fragments as gorilla/websocket's writer does. (The interop
// tests in internal/e2e run the same checks with real client libraries.)
type sender struct {
	name string
	send func(c *rawConn, op ws.OpCode, payload []byte)
}

var senders = []sender{
	{name: "one frame", send: func(c *rawConn, op ws.OpCode, p []byte) { c.Send(frame{Fin: true, Op: op, Payload: p}) }},
	{name: "4KiB fragments", send: sendFragmented},
}

func sendFragmented(c *rawConn, op ws.OpCode, p []byte) {
	const size = 4 << 10
	var frames []frame
	for first := true; first || len(p) > 0; first = false {
		n := min(len(p), size)
		f := frame{Fin: n == len(p), Op: ws.OpContinuation, Payload: p[:n]}
		if first {
			f.Op = op
		}
		frames = append(frames, f)
		p = p[n:]
	}
	c.Send(frames...)
}

// roundTrip dials, sends one message and reads the next message back.
func (s sender) roundTrip(t *testing.T, addr string, op ws.OpCode, payload []byte) (ws.OpCode, []byte, error) {
	c := dialUpgraded(t, addr)
	s.send(c, op, payload)
	return c.ReadMessage()
}

// TestEcho sends messages of every length form (7-bit, 16-bit, 64-bit) up
// to the default cap, in one frame and fragmented, as text and binary, and
// expects the same opcode and bytes back in one frame.
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
	for _, s := range senders {
		for _, op := range ops {
			for _, sz := range sizes {
				t.Run(s.name+"/"+op.name+"/"+sz.name, func(t *testing.T) {
					t.Parallel()
					payload := payloadOf(op.op, sz.size)
					gotOp, got, err := s.roundTrip(t, addr, op.op, payload)
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
	for _, s := range senders {
		for _, tt := range tests {
			t.Run(s.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				gone := newDisconnects()
				h := echo()
				h.OnDisconnect = gone.record
				_, addr := serve(t, h, tt.opts...)

				// One byte less than too big still passes.
				fits := payloadOf(ws.OpBinary, tt.size-1)
				if _, got, err := s.roundTrip(t, addr, ws.OpBinary, fits); err != nil || !bytes.Equal(got, fits) {
					t.Fatalf("message at the cap: %s, %v", abbrev(got), err)
				}

				_, got, err := s.roundTrip(t, addr, ws.OpBinary, payloadOf(ws.OpBinary, tt.size))
				if code := wstest.CloseCode(err); code != int(ws.StatusMessageTooBig) {
					t.Fatalf("got %s, %v (close code %d), want close 1009", abbrev(got), err, code)
				}
				if ce := gone.next(t); ce.Code != ws.StatusMessageTooBig || ce.Remote {
					t.Errorf("OnDisconnect %+v, want code 1009 by the server", ce)
				}
			})
		}
	}
}
