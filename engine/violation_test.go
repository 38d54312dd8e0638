package engine_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
)

// header64 is a masked, final frame header announcing n payload bytes in
// the 64-bit length form; the payload is not included.
func header64(op ws.OpCode, n uint64) []byte {
	b := []byte{0x80 | byte(op), 0x80 | 127}
	for shift := 56; shift >= 0; shift -= 8 {
		b = append(b, byte(n>>shift))
	}
	return append(b, testMask[:]...)
}

// TestProtocolViolations sends each RFC 6455 violation as raw bytes and
// expects the server's close frame with the RFC's code, then the end of
// TCP. A healthy client connected to the same event loop before the
// violation still gets its echo afterwards.
func TestProtocolViolations(t *testing.T) {
	t.Parallel()
	const (
		protocol = ws.StatusProtocolError           // 1002
		badData  = ws.StatusInvalidFramePayloadData // 1007
		tooBig   = ws.StatusMessageTooBig           // 1009
	)
	tests := []struct {
		name    string
		frames  []frame
		raw     []byte  // written after the frames
		replies []frame // expected before the close frame
		want    ws.StatusCode
	}{
		// Framing (RFC 6455 §5.1, §5.2).
		{name: "unmasked client frame", frames: []frame{{Fin: true, Op: ws.OpText, Payload: []byte("hi"), Unmasked: true}}, want: protocol},
		{name: "RSV1 set", frames: []frame{{Fin: true, Op: ws.OpText, Rsv: 4, Payload: []byte("hi")}}, want: protocol},
		{name: "RSV2 set", frames: []frame{{Fin: true, Op: ws.OpBinary, Rsv: 2, Payload: []byte("hi")}}, want: protocol},
		{name: "RSV3 set", frames: []frame{{Fin: true, Op: ws.OpText, Rsv: 1, Payload: []byte("hi")}}, want: protocol},
		{name: "reserved data opcode 3", frames: []frame{{Fin: true, Op: 3, Payload: []byte("hi")}}, want: protocol},
		{name: "reserved control opcode 0xB", frames: []frame{{Fin: true, Op: 0xB}}, want: protocol},
		{name: "64-bit length with the most significant bit set", raw: header64(ws.OpBinary, 1<<63), want: protocol},
		// Control frames (§5.5).
		{name: "ping with 126-byte payload", frames: []frame{{Fin: true, Op: ws.OpPing, Payload: bytes.Repeat([]byte("p"), 126)}}, want: protocol},
		{name: "fragmented ping", frames: []frame{{Fin: false, Op: ws.OpPing, Payload: []byte("p")}}, want: protocol},
		{name: "fragmented close", frames: []frame{{Fin: false, Op: ws.OpClose, Payload: closeBody(1000, "")}}, want: protocol},
		// Fragmentation (§5.4).
		{name: "continuation with nothing to continue", frames: []frame{{Fin: true, Op: ws.OpContinuation, Payload: []byte("x")}}, want: protocol},
		{name: "non-final continuation with nothing to continue", frames: []frame{{Fin: false, Op: ws.OpContinuation, Payload: []byte("x")}}, want: protocol},
		{name: "continuation after a complete message", frames: []frame{text("done"), {Fin: true, Op: ws.OpContinuation, Payload: []byte("x")}}, replies: []frame{text("done")}, want: protocol},
		{name: "new text frame inside a fragmented message", frames: append(fragments(ws.OpText, "a", "b")[:1], text("new")), want: protocol},
		{name: "new binary frame inside a fragmented text message", frames: append(fragments(ws.OpText, "a", "b")[:1], bin([]byte("new"))), want: protocol},
		// UTF-8 (§8.1).
		{name: "invalid UTF-8 in a single text frame", frames: []frame{text("ok\xff")}, want: badData},
		{name: "UTF-16 surrogate in a single text frame", frames: []frame{text("\xed\xa0\x80")}, want: badData},
		{name: "overlong encoding in a single text frame", frames: []frame{text("\xc0\xaf")}, want: badData},
		{name: "truncated rune at the end of a single text frame", frames: []frame{text("ok\xe2\x82")}, want: badData},
		// The final fragment is never sent: the error must not wait for it.
		{name: "invalid UTF-8 in the first fragment of an unfinished message", frames: fragments(ws.OpText, "ok\xff", "never sent")[:1], want: badData},
		{name: "surrogate prefix at the end of the first fragment", frames: fragments(ws.OpText, "ok\xed\xa0", "never sent")[:1], want: badData},
		{name: "invalid rune across two fragments", frames: fragments(ws.OpText, "ok\xc3", "(", "never sent")[:2], want: badData},
		{name: "message ends inside a rune", frames: fragments(ws.OpText, "ok", "\xe2\x82"), want: badData},
		// Close frames (§5.5.1, §7.4).
		{name: "close payload of 1 byte", frames: []frame{closeFrame([]byte{0x03})}, want: protocol},
		{name: "close code 1005", frames: []frame{closeFrame(closeBody(1005, ""))}, want: protocol},
		{name: "close code 1006", frames: []frame{closeFrame(closeBody(1006, ""))}, want: protocol},
		{name: "close code 999", frames: []frame{closeFrame(closeBody(999, ""))}, want: protocol},
		{name: "close code 5000", frames: []frame{closeFrame(closeBody(5000, ""))}, want: protocol},
		{name: "close reason with invalid UTF-8", frames: []frame{closeFrame(closeBody(1000, "bad \xff"))}, want: badData},
		// Size (§10.4): refused on the header, before the payload arrives.
		{name: "header announcing 2 MiB, no payload sent", raw: header64(ws.OpBinary, 2<<20), want: tooBig},
		{name: "text header announcing 1 MiB + 1, no payload sent", raw: header64(ws.OpText, 1<<20+1), want: tooBig},
		{
			name: "fragments adding up to 1 MiB + 1",
			frames: []frame{
				{Fin: false, Op: ws.OpBinary, Payload: make([]byte, 1<<20)},
				{Fin: true, Op: ws.OpContinuation, Payload: []byte{1}},
			},
			want: tooBig,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder()
			// One loop: the healthy client shares the violator's loop.
			_, addr := serve(t, rec.handler(), engine.WithLoops(1))
			healthy := dialUpgraded(t, addr)
			rec.conns.next(t)
			bad := dialUpgraded(t, addr)
			rec.conns.next(t)

			if len(tt.frames) > 0 {
				bad.Send(tt.frames...)
			}
			if len(tt.raw) > 0 {
				bad.Write(tt.raw)
			}
			for _, r := range tt.replies {
				bad.ExpectFrame(r.Op, r.Payload)
			}
			// The close frame arrives without anything more being sent.
			bad.ExpectClose(tt.want)
			bad.ExpectEOF()
			_ = bad.Close()
			if ce := rec.gone.next(t); ce.Code != tt.want || ce.Remote {
				t.Errorf("OnDisconnect %+v, want %d by the server", ce, tt.want)
			}

			msg := "still here: " + strings.Repeat("ü", 50)
			healthy.Send(text(msg))
			healthy.ExpectFrame(ws.OpText, []byte(msg))
		})
	}
}
