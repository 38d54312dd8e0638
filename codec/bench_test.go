package codec_test

import (
	"fmt"
	"testing"

	"github.com/gobwas/ws"
	"github.com/wshub/wshub/codec"
)

// maskedFrames encodes payload as client frames of at most fragment bytes.
func maskedFrames(op ws.OpCode, payload []byte, fragment int) []byte {
	var wire []byte
	for first := true; first || len(payload) > 0; first = false {
		n := min(fragment, len(payload))
		h := ws.Header{Fin: n == len(payload), OpCode: op, Masked: true, Mask: testMask}
		if !first {
			h.OpCode = ws.OpContinuation
		}
		wire = codec.AppendFrame(wire, h, payload[:n])
		payload = payload[n:]
	}
	return wire
}

// decodeLoop decodes wire as one read per iteration: the copy stands for
// the socket read, since decoding unmasks in place.
func decodeLoop(b *testing.B, wire []byte, payloadLen int) {
	b.ReportAllocs()
	b.SetBytes(int64(payloadLen))
	var d codec.Decoder
	buf := make([]byte, len(wire))
	for b.Loop() {
		copy(buf, wire)
		m, n, err := d.Decode(buf)
		if err != nil || n != len(wire) || len(m.Payload) != payloadLen {
			b.Fatalf(
				"Decode = %v, %d, %v",
				m.OpCode, n, err,
			)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	text := []byte(pattern(32))
	bin := []byte(pattern(4096))
	b.Run("text-32B", func(b *testing.B) {
		decodeLoop(b, maskedFrames(ws.OpText, text, len(text)), len(text))
	})
	b.Run("binary-4KiB", func(b *testing.B) {
		decodeLoop(b, maskedFrames(ws.OpBinary, bin, len(bin)), len(bin))
	})
	b.Run("text-4KiB-in-4-fragments", func(b *testing.B) {
		decodeLoop(b, maskedFrames(ws.OpText, bin, 1024), len(bin))
	})
}

func BenchmarkNewFrameRelease(b *testing.B) {
	for _, size := range []int{64, 4096} {
		payload := []byte(pattern(size))
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				codec.NewFrame(ws.OpBinary, payload).Release()
			}
		})
	}
}

// BenchmarkFrameShared is one broadcast frame retained and released by 64
// recipients from both cores.
func BenchmarkFrameShared(b *testing.B) {
	payload := []byte(pattern(64))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f := codec.NewFrame(ws.OpText, payload)
			f.Retain(63)
			for range 64 {
				f.Release()
			}
		}
	})
}

// BenchmarkHandshake parses and checks a browser's opening handshake, as the
// engine does once per connection.
func BenchmarkHandshake(b *testing.B) {
	head := []byte("GET /ws?room=lobby HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: Upgrade\r\n" +
		"Pragma: no-cache\r\nCache-Control: no-cache\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n" +
		"Upgrade: websocket\r\nOrigin: http://127.0.0.1:8080\r\nSec-WebSocket-Version: 13\r\n" +
		"Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(head)))
	for b.Loop() {
		req, n, err := codec.ParseRequest(head, 0)
		if err != nil || n != len(head) {
			b.Fatal(n, err)
		}
		if _, err := codec.CheckUpgrade(req); err != nil {
			b.Fatal(err)
		}
	}
}
