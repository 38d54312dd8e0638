package codec_test

import (
	"fmt"

	"github.com/gobwas/ws"
	"github.com/wshub/wshub/codec"
)

// An event loop peeks at its inbound buffer, parses the head, and leaves
// the frames that came in the same read for the decoder.
func ExampleParseRequest() {
	in := []byte("GET /chat?room=a HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n" +
		"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58")
	req, n, err := codec.ParseRequest(in, 0)
	if err != nil {
		panic(err)
	}
	key, err := codec.CheckUpgrade(req)
	if err != nil {
		panic(err)
	}
	fmt.Println(req.Path, req.RawQuery, len(in)-n, "bytes of frames left")
	fmt.Printf("%q\n", codec.AppendUpgradeResponse(nil, key, nil))
	// Output:
	// /chat room=a 11 bytes of frames left
	// "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
}

// A refused handshake is answered with the status the error carries.
func ExampleAppendErrorResponse() {
	_, _, err := codec.ParseRequest([]byte("GET / HTTP/2.0\r\n\r\n"), 0)
	fmt.Printf("%q\n", codec.AppendErrorResponse(nil, err.(*codec.HTTPError)))
	// Output:
	// "HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: 25\r\nConnection: close\r\n\r\nunsupported HTTP version\n"
}

// The loop on a connection's inbound buffer: decode until need more, then
// discard what was consumed.
func ExampleDecoder_Decode() {
	var d codec.Decoder
	buf := []byte{
		0x01, 0x83, 0, 0, 0, 0, 'H', 'e', 'l', // text fragment "Hel" (zero mask)
		0x89, 0x80, 0, 0, 0, 0, // ping between fragments
		0x80, 0x82, 0, 0, 0, 0, 'l', 'o', // final fragment "lo"
		0x82, 0x85, 0, 0, // start of a binary frame
	}
	for {
		m, n, err := d.Decode(buf)
		if err != nil {
			fmt.Println("fail with", codec.CloseStatus(err))
			return
		}
		buf = buf[n:]
		if m.OpCode == 0 {
			break
		}
		fmt.Printf("opcode %d %q\n", m.OpCode, m.Payload)
	}
	fmt.Println(len(buf), "bytes wait for more")
	// Output:
	// opcode 9 ""
	// opcode 1 "Hello"
	// 4 bytes wait for more
}

// A broadcast encodes once and shares the frame: one reference per
// recipient, each released after its write.
func ExampleNewFrame() {
	f := codec.NewFrame(ws.OpText, []byte("hi"))
	f.Retain(2) // three recipients in all
	fmt.Printf("% x\n", f.Bytes())
	for range 3 {
		f.Release()
	}
	// Output:
	// 81 02 68 69
}
