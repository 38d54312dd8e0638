package codec_test

import (
	"testing"

	"github.com/gobwas/ws"
	"github.com/wshub/wshub/codec"
)

// TestHotPathAllocs pins the hot paths to zero allocations in steady state.
// Not parallel: AllocsPerRun counts every goroutine's allocations.
func TestHotPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	small := maskedFrames(ws.OpText, []byte(pattern(32)), 32)
	fragmented := maskedFrames(ws.OpText, []byte(pattern(4096)), 1024)
	payload := []byte(pattern(64))
	cases := []struct {
		name string
		fn   func()
	}{
		{name: "decode a small masked text", fn: decodeOnce(small)},
		{name: "decode 4 KiB text in 4 fragments", fn: decodeOnce(fragmented)},
		{name: "NewFrame and Release 64 B", fn: func() { codec.NewFrame(ws.OpBinary, payload).Release() }},
	}
	for _, c := range cases {
		c.fn() // fill the pools
		if allocs := testing.AllocsPerRun(1000, c.fn); allocs != 0 {
			t.Errorf(
				"%s: %v allocs per run; want 0",
				c.name, allocs,
			)
		}
	}
}

// decodeOnce returns a function that decodes a fresh copy of wire, which
// must be one message, then a last call that releases pooled buffers (as an
// event loop's need-more call would).
func decodeOnce(wire []byte) func() {
	var d codec.Decoder
	buf := make([]byte, len(wire))
	return func() {
		copy(buf, wire)
		m, n, err := d.Decode(buf)
		if err != nil || n != len(buf) || m.OpCode == 0 {
			panic("decodeOnce: not one message")
		}
		d.Decode(buf[n:])
	}
}
