package codec_test

import (
	"strings"

	"github.com/gobwas/ws"
	"github.com/wshub/wshub/codec"
)

// golden is one row of the table that drives the decoder tests, the encoder
// tests and the fuzz seeds: bytes as they arrive from the peer and what
// decoding them must give.
type golden struct {
	name   string          // what the bytes are, in words
	client bool            // decode as a client: frames from a server, unmasked
	max    int64           // Decoder.MaxMessage; 0: the default
	raw    string          // the bytes in hex; or else
	frames []fr            // the bytes frame by frame, masked in a server's row
	want   []codec.Message // the messages, in order
	code   ws.StatusCode   // close code of the error that ends decoding; 0: none
	left   int             // bytes left unconsumed at the end (need more)
}

// wire is the row's bytes, a fresh copy (decoding unmasks in place).
func (g golden) wire() []byte {
	if g.raw != "" {
		return hx(g.raw)
	}
	var b []byte
	for _, f := range g.frames {
		b = append(b, f.wire(!g.client != f.flipMask)...)
	}
	return b
}

// goldenTable is every row: the hand-written ones and the generated ones.
var goldenTable = concat(rfcRows, sizeRows, fragmentRows, controlRows,
	violationRows, reservedOpRows(), closeCodeRows(), utf8Rows())

func concat(tables ...[]golden) []golden {
	var all []golden
	for _, t := range tables {
		all = append(all, t...)
	}
	return all
}

// rfcRows are the examples of RFC 6455 §5.7, byte for byte.
var rfcRows = []golden{
	{
		name: "§5.7 masked text Hello",
		raw:  "81 85 37fa213d 7f9f4d5158",
		want: []codec.Message{txt("Hello")},
	},
	{
		name:   "§5.7 unmasked text Hello, to a client",
		client: true,
		raw:    "81 05 48656c6c6f",
		want:   []codec.Message{txt("Hello")},
	},
	{
		name:   "§5.7 fragmented unmasked text Hel+lo, to a client",
		client: true,
		raw:    "01 03 48656c 80 02 6c6f",
		want:   []codec.Message{txt("Hello")},
	},
	{
		name:   "§5.7 unmasked ping Hello, to a client",
		client: true,
		raw:    "89 05 48656c6c6f",
		want:   []codec.Message{ping("Hello")},
	},
	{
		name: "§5.7 masked pong Hello",
		raw:  "8a 85 37fa213d 7f9f4d5158",
		want: []codec.Message{pong("Hello")},
	},
	{
		name:   "§5.7 256-byte binary with a 16-bit length, to a client",
		client: true,
		raw:    "82 7e 0100" + strings.Repeat("00", 256),
		want:   []codec.Message{bin(strings.Repeat("\x00", 256))},
	},
}

// sizeRows cover each length form and its bounds.
var sizeRows = []golden{
	{
		name:   "empty text",
		frames: []fr{{fin: true, op: ws.OpText}},
		want:   []codec.Message{txt("")},
	},
	{
		name:   "empty binary",
		frames: []fr{{fin: true, op: ws.OpBinary}},
		want:   []codec.Message{bin("")},
	},
	{
		name:   "125-byte text: the largest 7-bit length",
		frames: []fr{{fin: true, op: ws.OpText, payload: pattern(125)}},
		want:   []codec.Message{txt(pattern(125))},
	},
	{
		name:   "126-byte text: the smallest 16-bit length",
		frames: []fr{{fin: true, op: ws.OpText, payload: pattern(126)}},
		want:   []codec.Message{txt(pattern(126))},
	},
	{
		name:   "65535-byte binary: the largest 16-bit length",
		frames: []fr{{fin: true, op: ws.OpBinary, payload: pattern(65535)}},
		want:   []codec.Message{bin(pattern(65535))},
	},
	{
		name:   "65536-byte binary: the smallest 64-bit length",
		frames: []fr{{fin: true, op: ws.OpBinary, payload: pattern(65536)}},
		want:   []codec.Message{bin(pattern(65536))},
	},
	{
		name:   "126-byte unmasked binary, to a client",
		client: true,
		frames: []fr{{fin: true, op: ws.OpBinary, payload: pattern(126)}},
		want:   []codec.Message{bin(pattern(126))},
	},
	{
		name:   "5 bytes with a 16-bit length: longer form than needed is accepted",
		frames: []fr{{fin: true, op: ws.OpText, payload: "Hello", form: 16}},
		want:   []codec.Message{txt("Hello")},
	},
	{
		name:   "5 bytes with a 64-bit length",
		frames: []fr{{fin: true, op: ws.OpBinary, payload: "Hello", form: 64}},
		want:   []codec.Message{bin("Hello")},
	},
	{
		name:   "text exactly at MaxMessage",
		max:    16,
		frames: []fr{{fin: true, op: ws.OpText, payload: pattern(16)}},
		want:   []codec.Message{txt(pattern(16))},
	},
	{
		name: "two messages in one read",
		frames: []fr{
			{fin: true, op: ws.OpText, payload: "one"},
			{fin: true, op: ws.OpBinary, payload: "two"},
		},
		want: []codec.Message{txt("one"), bin("two")},
	},
	{
		name: "first byte of a header only: need more",
		raw:  "81",
		left: 1,
	},
	{
		name:   "header without its payload: taken, need more",
		frames: []fr{{fin: true, op: ws.OpText, declare: 5}},
		left:   0,
	},
	{
		name:   "64-bit length header without its payload: taken, need more",
		frames: []fr{{fin: true, op: ws.OpBinary, declare: 70000}},
		left:   0,
	},
	{
		name:   "ping header without its payload: waits for the whole frame",
		frames: []fr{{fin: true, op: ws.OpPing, declare: 5}},
		left:   6,
	},
	{
		name: "a message, then part of the next one",
		frames: []fr{
			{fin: true, op: ws.OpText, payload: "one"},
			{fin: true, op: ws.OpText, declare: 3},
		},
		want: []codec.Message{txt("one")},
		left: 0,
	},
}

// fragmentRows cover fragmented messages (RFC 6455 §5.4).
var fragmentRows = []golden{
	{
		name: "text in three fragments",
		frames: []fr{
			{op: ws.OpText, payload: "Hel"},
			{op: ws.OpContinuation, payload: "lo, "},
			{fin: true, op: ws.OpContinuation, payload: "world"},
		},
		want: []codec.Message{txt("Hello, world")},
	},
	{
		name: "binary in empty fragments",
		frames: []fr{
			{op: ws.OpBinary},
			{op: ws.OpContinuation},
			{fin: true, op: ws.OpContinuation},
		},
		want: []codec.Message{bin("")},
	},
	{
		name: "ping and pong between fragments come first",
		frames: []fr{
			{op: ws.OpText, payload: "Hel"},
			{fin: true, op: ws.OpPing, payload: "p"},
			{op: ws.OpContinuation, payload: "l"},
			{fin: true, op: ws.OpPong},
			{fin: true, op: ws.OpContinuation, payload: "o"},
		},
		want: []codec.Message{ping("p"), pong(""), txt("Hello")},
	},
	{
		name: "close between fragments",
		frames: []fr{
			{op: ws.OpBinary, payload: "Hel"},
			{fin: true, op: ws.OpClose, payload: closeBody(1000, "")},
		},
		want: []codec.Message{closeMsg(1000, "")},
	},
	{
		name: "code point split across fragments",
		frames: []fr{
			{op: ws.OpText, payload: "\xce"},
			{op: ws.OpContinuation, payload: "\xba\xe1\xbd"},
			{fin: true, op: ws.OpContinuation, payload: "\xb9\xcf\x83\xce\xbc\xce\xb5"},
		},
		want: []codec.Message{txt("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")},
	},
	{
		name: "fragments exactly at MaxMessage",
		max:  16,
		frames: []fr{
			{op: ws.OpBinary, payload: pattern(10)},
			{fin: true, op: ws.OpContinuation, payload: pattern(6)},
		},
		want: []codec.Message{bin(pattern(10) + pattern(6))},
	},
	{
		name: "65536 bytes in two fragments",
		frames: []fr{
			{op: ws.OpBinary, payload: pattern(65535)},
			{fin: true, op: ws.OpContinuation, payload: "!"},
		},
		want: []codec.Message{bin(pattern(65535) + "!")},
	},
	{
		name: "a fragment, then part of the next: both are consumed",
		frames: []fr{
			{op: ws.OpText, payload: "Hel"},
			{fin: true, op: ws.OpContinuation, declare: 2},
		},
		left: 0,
	},
	{
		name: "two fragmented messages back to back",
		frames: []fr{
			{op: ws.OpText, payload: "a"},
			{fin: true, op: ws.OpContinuation, payload: "b"},
			{op: ws.OpBinary, payload: "c"},
			{fin: true, op: ws.OpContinuation, payload: "d"},
		},
		want: []codec.Message{txt("ab"), bin("cd")},
	},
}

// controlRows cover control frames (RFC 6455 §5.5).
var controlRows = []golden{
	{
		name:   "empty ping",
		frames: []fr{{fin: true, op: ws.OpPing}},
		want:   []codec.Message{ping("")},
	},
	{
		name:   "125-byte ping: the largest control payload",
		frames: []fr{{fin: true, op: ws.OpPing, payload: pattern(125)}},
		want:   []codec.Message{ping(pattern(125))},
	},
	{
		name:   "close without a body: 1005",
		frames: []fr{{fin: true, op: ws.OpClose}},
		want:   []codec.Message{closeMsg(ws.StatusNoStatusRcvd, "")},
	},
	{
		name:   "close 1000 with a reason",
		frames: []fr{{fin: true, op: ws.OpClose, payload: closeBody(1000, "bye")}},
		want:   []codec.Message{closeMsg(1000, "bye")},
	},
	{
		name:   "close with a 123-byte UTF-8 reason",
		frames: []fr{{fin: true, op: ws.OpClose, payload: closeBody(1001, strings.Repeat("é", 61)+"!")}},
		want:   []codec.Message{closeMsg(1001, strings.Repeat("é", 61)+"!")},
	},
	{
		name:   "unmasked close, to a client",
		client: true,
		frames: []fr{{fin: true, op: ws.OpClose, payload: closeBody(1001, "")}},
		want:   []codec.Message{closeMsg(1001, "")},
	},
}
