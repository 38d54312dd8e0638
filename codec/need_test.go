package codec_test

import (
	"testing"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/codec"
)

// TestDecoderNeed checks what Decode does with a frame that is not all
// there: a data frame's payload is taken as it arrives (Need 0, the bytes
// consumed), a control frame waits whole, and Need says how much of it, so
// an event loop can wait for it without re-peeking.
func TestDecoderNeed(t *testing.T) {
	big := codec.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, 4}}, make([]byte, 70000))
	ping := codec.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpPing, Masked: true}, make([]byte, 100))
	small := codec.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpText, Masked: true}, []byte("hi"))
	tests := []struct {
		name     string
		in       []byte
		need     int
		consumed int
	}{
		{name: "header incomplete", in: big[:1], need: 0, consumed: 0},
		{name: "64-bit length header incomplete", in: big[:5], need: 0, consumed: 0},
		{name: "data payload incomplete: taken", in: big[:100], need: 0, consumed: 100},
		{name: "control payload incomplete: waits", in: ping[:50], need: len(ping), consumed: 0},
		{name: "after a whole frame", in: append(append([]byte(nil), small...), ping[:20]...), need: len(ping), consumed: len(small)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d codec.Decoder
			in := append([]byte(nil), tt.in...)
			used := 0
			for {
				m, n, err := d.Decode(in[used:])
				if err != nil {
					t.Fatal(err)
				}
				used += n
				if m.OpCode == 0 {
					break
				}
			}
			if used != tt.consumed || d.Need() != tt.need {
				t.Fatalf("consumed %d, Need %d; want %d, %d", used, d.Need(), tt.consumed, tt.need)
			}
			d.Reset()
			if d.Need() != 0 {
				t.Fatal("Reset kept Need")
			}
		})
	}
}
