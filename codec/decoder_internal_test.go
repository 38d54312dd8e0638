package codec

import (
	"testing"
	"unsafe"

	"github.com/gobwas/ws"
)

// TestDecoderIdle: a Decoder lives in every connection, so it stays small
// and holds no buffer once a message is handed out and the loop asks for
// more, or after Reset.
func TestDecoderIdle(t *testing.T) {
	t.Parallel()
	if size := unsafe.Sizeof(Decoder{}); size > 48 {
		t.Errorf(
			"Decoder is %d bytes; want at most 48",
			size,
		)
	}
	h := ws.Header{OpCode: ws.OpBinary, Masked: true}
	wire := AppendFrame(nil, h, []byte("frag"))
	h.OpCode, h.Fin = ws.OpContinuation, true
	wire = AppendFrame(wire, h, []byte("ment"))

	var d Decoder
	m, n, err := d.Decode(wire)
	if err != nil || string(m.Payload) != "fragment" || d.done == nil {
		t.Fatalf(
			"Decode = %q, %d, %v",
			m.Payload, n, err,
		)
	}
	d.Decode(wire[n:])
	if d.msg != nil || d.done != nil {
		t.Fatal("buffers held after the need-more call")
	}
	d.Decode(AppendFrame(nil, ws.Header{OpCode: ws.OpText, Masked: true}, []byte("half")))
	if d.msg == nil {
		t.Fatal("no buffer for the message in progress")
	}
	d.Reset()
	if d != (Decoder{}) {
		t.Fatalf(
			"after Reset: %+v",
			d,
		)
	}
}

// TestRsvHook: permessage-deflate claims RSV1; the other bits still
// fail.
func TestRsvHook(t *testing.T) {
	t.Parallel()
	var d Decoder
	d.SetDeflate(0)
	h := ws.Header{Fin: true, Rsv: ws.Rsv(false, true, false), OpCode: ws.OpBinary, Masked: true}
	if _, _, err := d.Decode(AppendFrame(nil, h, []byte("x"))); err != ErrRsvSet {
		t.Fatalf(
			"RSV2: %v; want ErrRsvSet",
			err,
		)
	}
}

// TestPartialFrameBuffer: a frame that has barely begun does not pin a
// message buffer sized for others: after the pool has seen 1 MiB messages,
// 15 bytes announcing a 1 MiB frame hold a few KiB.
func TestPartialFrameBuffer(t *testing.T) {
	for range 64 {
		b := fragPool.Get()
		b.B = make([]byte, 1<<20)
		fragPool.Put(b)
	}
	wire := appendHeader(nil, ws.Header{OpCode: ws.OpBinary, Fin: true, Masked: true, Length: 1 << 20})
	wire = append(wire, 'x')
	for range 20 {
		d := Decoder{MaxMessage: 2 << 20}
		if _, n, err := d.Decode(append([]byte(nil), wire...)); err != nil || n != len(wire) {
			t.Fatalf("Decode: %d, %v", n, err)
		}
		if got := d.Buffered(); got > fragSlack+8 {
			t.Fatalf("a 1-byte start of a frame holds a %d-byte buffer", got)
		}
		d.Reset()
	}
}
