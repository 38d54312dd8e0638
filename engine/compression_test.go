package engine_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gobwas/ws"
	"github.com/klauspost/compress/flate"

	"github.com/wshub/wshub/codec"
	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/wstest"
)

// deflated compresses p as a client without context takeover does.
func deflated(t testing.TB, p []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestSpeed)
	_, _ = w.Write(p)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(out.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// chatty is compressible text of n bytes.
func chatty(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	var b bytes.Buffer
	for b.Len() < n {
		fmt.Fprintf(&b, `{"from":"user%d","text":"message number %d","ts":%d},`, r.IntN(20), r.IntN(1000), 1700000000+r.IntN(99999))
	}
	return b.Bytes()[:n]
}

// dialZ upgrades on path with an extension offer and returns the client
// and the 101's Sec-WebSocket-Extensions.
func dialZ(t *testing.T, addr, path, offer string) (*rawConn, string) {
	t.Helper()
	c := dialRaw(t, addr)
	c.Write([]byte(upgradeRequest(addr, path, "Sec-WebSocket-Extensions: "+offer)))
	return c, c.ExpectUpgrade().Header.Get("Sec-WebSocket-Extensions")
}

// readZ reads one server message, reassembled and inflated when its first
// frame has RSV1, and reports whether it had.
func readZ(t *testing.T, c *rawConn) (ws.OpCode, []byte, bool) {
	t.Helper()
	var wire []byte
	compressed := false
	for first := true; ; first = false {
		h, p, err := c.ReadFrame()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if h.OpCode.IsControl() {
			if h.OpCode == ws.OpClose {
				t.Fatalf("close frame %s", abbrev(p))
			}
			continue
		}
		if first {
			compressed = h.Rsv&4 != 0
		} else if h.Rsv != 0 {
			t.Fatalf("RSV bits %d on a continuation", h.Rsv)
		}
		h.Length = int64(len(p))
		wire = codec.AppendFrame(wire, h, p)
		if h.Fin {
			break
		}
	}
	d := codec.Decoder{Client: true, MaxMessage: 64 << 20}
	d.SetDeflate(0)
	m, _, err := d.Decode(wire)
	if err != nil || m.OpCode == 0 {
		t.Fatalf("server message does not decode: %v", err)
	}
	return m.OpCode, bytes.Clone(m.Payload), compressed
}

// TestCompressionOffers: each permessage-deflate offer a client may make
// (the parameter combinations of RFC 7692 §7.1, as Autobahn's sections 12
// and 13 make them) is answered with a valid response, and messages of 0 B
// to 1 MiB, text and binary, whole and fragmented, compressed by the
// client or not, echo back compressed when they are worth it and fit the
// window the client allows.
func TestCompressionOffers(t *testing.T) {
	t.Parallel()
	const nct = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	tests := []struct {
		offer  string
		resp   string // "" = declined
		window int    // largest message the server may compress
	}{
		{offer: "permessage-deflate", resp: nct, window: 1 << 30},
		{offer: "permessage-deflate; client_max_window_bits", resp: nct, window: 1 << 30},
		{offer: "permessage-deflate; client_no_context_takeover", resp: nct, window: 1 << 30},
		{offer: "permessage-deflate; server_no_context_takeover", resp: nct, window: 1 << 30},
		{offer: "permessage-deflate; client_max_window_bits=9", resp: nct, window: 1 << 30},
		{offer: "permessage-deflate; server_max_window_bits=9", resp: nct + "; server_max_window_bits=9", window: 512},
		{offer: "permessage-deflate; server_max_window_bits=15", resp: nct + "; server_max_window_bits=15", window: 1 << 30},
		{offer: "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12",
			resp: nct + "; server_max_window_bits=12", window: 4096},
		{offer: "permessage-deflate; server_max_window_bits=7, permessage-deflate; server_max_window_bits=8", resp: nct + "; server_max_window_bits=8", window: 256},
		{offer: "permessage-deflate; unknown_parameter"},
		{offer: "x-webkit-deflate-frame"},
	}
	sizes := []int{0, 1, 127, 128, 300, 1000, 5000, 70000, 1 << 20}
	_, addr := serve(t, engine.Handler{
		OnMessage:   func(c *engine.Conn, op engine.OpCode, p []byte) { _ = c.Send(op, p) },
		Compression: engine.Compression{Enabled: true},
	}, engine.WithMaxMessage(2<<20))
	for _, tt := range tests {
		t.Run(tt.offer, func(t *testing.T) {
			t.Parallel()
			c, got := dialZ(t, addr, wsPath, tt.offer)
			if got != tt.resp {
				t.Fatalf("Sec-WebSocket-Extensions = %q, want %q", got, tt.resp)
			}
			for i, size := range sizes {
				for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary} {
					p := chatty(size, uint64(i))
					var frames []frame
					switch {
					case tt.resp == "":
						frames = []frame{{Fin: true, Op: op, Payload: p}}
					case i%2 == 0: // compressed, in one frame or three
						z := deflated(t, p)
						if len(z) > 10 {
							frames = []frame{{Op: op, Rsv: 4, Payload: z[:3]}, {Op: ws.OpContinuation, Payload: z[3:7]},
								{Fin: true, Op: ws.OpContinuation, Payload: z[7:]}}
						} else {
							frames = []frame{{Fin: true, Op: op, Rsv: 4, Payload: z}}
						}
					default: // uncompressed, fragmented
						frames = []frame{{Op: op, Payload: p[:size/2]}, {Fin: true, Op: ws.OpContinuation, Payload: p[size/2:]}}
					}
					c.Send(frames...)
					gotOp, got, compressed := readZ(t, c)
					if gotOp != op || !bytes.Equal(got, p) {
						t.Fatalf("%d-byte %v: echo differs (%d bytes)", size, op, len(got))
					}
					wantZ := tt.resp != "" && size >= 128 && size <= tt.window
					if compressed != wantZ {
						t.Fatalf("%d-byte %v: echo compressed %v, want %v", size, op, compressed, wantZ)
					}
				}
			}
			if tt.resp == "" {
				// Not negotiated: RSV1 fails the connection (RFC 6455 §5.2).
				c.Send(frame{Fin: true, Op: ws.OpText, Rsv: 4, Payload: deflated(t, []byte("hi"))})
				c.ExpectClose(ws.StatusProtocolError)
			}
		})
	}
}

// TestCompressionViolations: with permessage-deflate negotiated, a
// compressed message that inflates past the cap closes with 1009 before
// the memory is spent, RSV1 where RFC 7692 forbids it with 1002, a stream
// that does not inflate or inflates to invalid UTF-8 with 1007; a healthy
// compressed client on the same server keeps echoing.
func TestCompressionViolations(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	_, addr := serve(t, engine.Handler{
		OnMessage:   func(c *engine.Conn, op engine.OpCode, p []byte) { _ = c.Send(op, p) },
		Compression: engine.Compression{Enabled: true},
	}, engine.WithMaxMessage(limit), engine.WithLoops(1))
	offer := "Sec-WebSocket-Extensions: permessage-deflate"
	healthy := wstest.Dial(t, addr, wsPath, offer) // an offer the server accepts
	bomb := deflated(t, make([]byte, 32<<20))
	tests := []struct {
		name   string
		frames []frame
		want   ws.StatusCode
	}{
		{name: "deflate bomb: 32 MiB from a small frame", want: ws.StatusMessageTooBig,
			frames: []frame{{Fin: true, Op: ws.OpBinary, Rsv: 4, Payload: bomb}}},
		{name: "deflate bomb in fragments", want: ws.StatusMessageTooBig,
			frames: []frame{{Op: ws.OpBinary, Rsv: 4, Payload: bomb[:100]}, {Fin: true, Op: ws.OpContinuation, Payload: bomb[100:]}}},
		{name: "RSV1 on a continuation", want: ws.StatusProtocolError,
			frames: []frame{{Op: ws.OpText, Payload: []byte("a")}, {Fin: true, Op: ws.OpContinuation, Rsv: 4, Payload: []byte("b")}}},
		{name: "RSV1 on a ping", want: ws.StatusProtocolError, frames: []frame{{Fin: true, Op: ws.OpPing, Rsv: 4}}},
		{name: "RSV2", want: ws.StatusProtocolError, frames: []frame{{Fin: true, Op: ws.OpText, Rsv: 2, Payload: []byte("a")}}},
		{name: "not deflate", want: ws.StatusInvalidFramePayloadData,
			frames: []frame{{Fin: true, Op: ws.OpBinary, Rsv: 4, Payload: []byte{0xff, 0xfe, 0xfd}}}},
		{name: "invalid UTF-8 once inflated", want: ws.StatusInvalidFramePayloadData,
			frames: []frame{{Fin: true, Op: ws.OpText, Rsv: 4, Payload: deflated(t, []byte("fine, then \xc0\xaf"))}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := wstest.Dial(t, addr, wsPath, offer)
			c.Send(tt.frames...)
			c.ExpectClose(tt.want)
			msg := chatty(1000, 9)
			healthy.Send(frame{Fin: true, Op: ws.OpText, Rsv: 4, Payload: deflated(t, msg)})
			if _, got, _ := readZ(t, healthy); !bytes.Equal(got, msg) {
				t.Fatal("the healthy client's echo differs")
			}
		})
	}
}

// TestUTF8FailFastMidFrame: a text frame whose invalid UTF-8 arrives while
// the rest of the frame has not been sent gets 1007 at once (the strict
// behaviour of Autobahn 6.4.3 and 6.4.4), not when the frame ends.
func TestUTF8FailFastMidFrame(t *testing.T) {
	t.Parallel()
	_, addr := serve(t, echo())
	payload := append(append([]byte(strings.Repeat("κόσμε ", 100)), 0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xf4, 0x90, 0x80, 0x80), "-edited"...)
	bad := bytes.Index(payload, []byte{0xf4, 0x90})
	wire := frame{Fin: true, Op: ws.OpText, Payload: payload}.Bytes()
	hsize := len(wire) - len(payload)
	for _, split := range [][]int{{hsize + bad + 2}, {hsize + 10, hsize + bad + 1, hsize + bad + 2}} {
		c := dialUpgraded(t, addr)
		from := 0
		for _, to := range split {
			c.Write(wire[from:to])
			from = to
		}
		c.ExpectClose(ws.StatusInvalidFramePayloadData) // the rest of the frame is never sent
	}
}

// TestCompressionHook: OnUpgrade sees the response the route would give
// and may decline compression for one connection.
func TestCompressionHook(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 2)
	_, addr := serve(t, engine.Handler{
		Compression: engine.Compression{Enabled: true},
		OnUpgrade: func(u *engine.Upgrade) {
			resp, ok := u.Compression()
			seen <- fmt.Sprintf("%s %v", resp, ok)
			_ = u.Accept(engine.AcceptOptions{NoCompression: u.Request().RawQuery == "plain"})
		},
		OnMessage: func(c *engine.Conn, op engine.OpCode, p []byte) {
			_ = c.SendText(fmt.Sprint(c.Compressed()))
		},
	})
	for _, q := range []string{"", "plain"} {
		c, ext := dialZ(t, addr, wsPath+"?"+q, "permessage-deflate; client_max_window_bits")
		if got := <-seen; got != "permessage-deflate; server_no_context_takeover; client_no_context_takeover true" {
			t.Fatalf("the hook saw %q", got)
		}
		want := q == ""
		if got := ext != ""; got != want {
			t.Fatalf("query %q: extension answered %v, want %v", q, got, want)
		}
		c.SendText("?")
		c.ExpectText(fmt.Sprint(want))
	}
	// A route without Compression answers no extension.
	_, plain := serve(t, echo())
	if _, got := dialZ(t, plain, wsPath, "permessage-deflate"); got != "" {
		t.Fatalf("a route without compression answered %q", got)
	}
}
