package codec_test

import (
	"testing"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/codec"
)

// TestDecoderNeed checks that Need reports the size of the frame Decode is
// waiting for, so an event loop can wait for it without re-peeking.
func TestDecoderNeed(t *testing.T) {
	payload := make([]byte, 70000)
	frame := codec.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, 4}}, payload)
	small := codec.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpText, Masked: true}, []byte("hi"))
	tests := []struct {
		name string
		in   []byte
		want int
	}{
		{name: "header incomplete", in: frame[:1], want: 0},
		{name: "64-bit length header incomplete", in: frame[:5], want: 0},
		{name: "payload incomplete", in: frame[:100], want: len(frame)},
		{name: "after a whole frame", in: append(append([]byte(nil), small...), frame[:20]...), want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d codec.Decoder
			in := append([]byte(nil), tt.in...)
			m, n, err := d.Decode(in)
			if err != nil {
				t.Fatal(err)
			}
			if m.OpCode != 0 {
				// A complete frame came first: consume it, then ask again.
				m, _, err = d.Decode(in[n:])
				if err != nil || m.OpCode != 0 {
					t.Fatalf("second Decode: %v %v", m.OpCode, err)
				}
				if got, want := d.Need(), len(frame); got != want {
					t.Fatalf("Need after a whole frame = %d, want %d", got, want)
				}
				return
			}
			if got := d.Need(); got != tt.want {
				t.Fatalf("Need = %d, want %d", got, tt.want)
			}
			d.Reset()
			if d.Need() != 0 {
				t.Fatal("Reset kept Need")
			}
		})
	}
}
