package codec_test

import (
	"fmt"

	"github.com/gobwas/ws"
	"github.com/wshub/wshub/codec"
)

// violationRows each break one rule, with the close code it must fail with.
var violationRows = []golden{
	{
		name:   "RSV1 without an extension",
		frames: []fr{{fin: true, rsv: 4, op: ws.OpText, payload: "Hello"}},
		code:   ws.StatusProtocolError,
	},
	{
		name:   "RSV2",
		frames: []fr{{fin: true, rsv: 2, op: ws.OpBinary, payload: "Hello"}},
		code:   ws.StatusProtocolError,
	},
	{
		name:   "RSV3 on a ping",
		frames: []fr{{fin: true, rsv: 1, op: ws.OpPing}},
		code:   ws.StatusProtocolError,
	},
	{
		name:   "RSV1 on a header whose payload has not arrived",
		frames: []fr{{fin: true, rsv: 4, op: ws.OpText, declare: 100}},
		code:   ws.StatusProtocolError,
	},
	{
		name:   "unmasked frame to a server",
		frames: []fr{{fin: true, op: ws.OpText, payload: "Hello", flipMask: true}},
		code:   ws.StatusProtocolError,
	},
	{
		name:   "masked frame to a client",
		client: true,
		frames: []fr{{fin: true, op: ws.OpText, payload: "Hello", flipMask: true}},
		code:   ws.StatusProtocolError,
	},
	{
		name:   "126-byte ping, failed on its header",
		frames: []fr{{fin: true, op: ws.OpPing, declare: 126}},
		code:   ws.StatusProtocolError,
	},
	{
		name:   "126-byte close",
		frames: []fr{{fin: true, op: ws.OpClose, payload: closeBody(1000, pattern(124))}},
		code:   ws.StatusProtocolError,
	},
	{
		name:   "fragmented ping",
		frames: []fr{{op: ws.OpPing, payload: "p"}},
		code:   ws.StatusProtocolError,
	},
	{
		name:   "fragmented pong inside a fragmented message",
		frames: []fr{{op: ws.OpText, payload: "a"}, {op: ws.OpPong}},
		code:   ws.StatusProtocolError,
	},
	{
		name:   "continuation with no message in progress",
		frames: []fr{{fin: true, op: ws.OpContinuation, payload: "lo"}},
		code:   ws.StatusProtocolError,
	},
	{
		name: "continuation after a finished fragmented message",
		frames: []fr{
			{op: ws.OpText, payload: "a"},
			{fin: true, op: ws.OpContinuation, payload: "b"},
			{fin: true, op: ws.OpContinuation, payload: "c"},
		},
		want: []codec.Message{txt("ab")},
		code: ws.StatusProtocolError,
	},
	{
		name:   "text while a fragmented message is in progress",
		frames: []fr{{op: ws.OpText, payload: "a"}, {fin: true, op: ws.OpText, payload: "b"}},
		code:   ws.StatusProtocolError,
	},
	{
		name:   "binary while a fragmented text is in progress",
		frames: []fr{{op: ws.OpText, payload: "a"}, {op: ws.OpBinary, payload: "b"}},
		code:   ws.StatusProtocolError,
	},
	{
		name:   "text over MaxMessage",
		max:    16,
		frames: []fr{{fin: true, op: ws.OpText, payload: pattern(17)}},
		code:   ws.StatusMessageTooBig,
	},
	{
		name:   "1 TiB binary, failed on its header",
		frames: []fr{{fin: true, op: ws.OpBinary, declare: 1 << 40}},
		code:   ws.StatusMessageTooBig,
	},
	{
		name:   "default cap: 1 MiB + 1 announced",
		frames: []fr{{fin: true, op: ws.OpBinary, declare: codec.DefaultMaxMessage + 1}},
		code:   ws.StatusMessageTooBig,
	},
	{
		name: "fragments over MaxMessage, failed on the header of the last",
		max:  16,
		frames: []fr{
			{op: ws.OpBinary, payload: pattern(10)},
			{op: ws.OpContinuation, payload: pattern(6)},
			{fin: true, op: ws.OpContinuation, declare: 1},
		},
		code: ws.StatusMessageTooBig,
	},
	{
		name:   "64-bit length with the top bit set",
		frames: []fr{{fin: true, op: ws.OpBinary, declare: 1 << 63}},
		code:   ws.StatusProtocolError,
	},
	{
		name:   "64-bit length with the top bit set on a ping",
		frames: []fr{{fin: true, op: ws.OpPing, declare: 1<<63 | 5}},
		code:   ws.StatusProtocolError,
	},
	{
		name:   "close with a 1-byte body",
		frames: []fr{{fin: true, op: ws.OpClose, payload: "\x03"}},
		code:   ws.StatusProtocolError,
	},
	{
		name:   "close reason not UTF-8",
		frames: []fr{{fin: true, op: ws.OpClose, payload: closeBody(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80")}},
		code:   ws.StatusInvalidFramePayloadData,
	},
	{
		name:   "invalid UTF-8 in one frame",
		frames: []fr{{fin: true, op: ws.OpText, payload: "Hello\xc0\xafworld"}},
		code:   ws.StatusInvalidFramePayloadData,
	},
	{
		name: "invalid UTF-8 in the middle fragment",
		frames: []fr{
			{op: ws.OpText, payload: "κόσμε"},
			{op: ws.OpContinuation, payload: "\xf4\x90\x80\x80"},
			{fin: true, op: ws.OpContinuation, payload: "edited"},
		},
		code: ws.StatusInvalidFramePayloadData,
	},
	{
		name: "incomplete code point at the end of the final fragment",
		frames: []fr{
			{op: ws.OpText, payload: "κόσμ"},
			{fin: true, op: ws.OpContinuation, payload: "\xce"},
		},
		code: ws.StatusInvalidFramePayloadData,
	},
	{
		name: "an error after a good message in the same read",
		frames: []fr{
			{fin: true, op: ws.OpText, payload: "ok"},
			{fin: true, op: ws.OpText, payload: "\xff"},
		},
		want: []codec.Message{txt("ok")},
		code: ws.StatusInvalidFramePayloadData,
	},
}

// reservedOpRows send each reserved opcode (RFC 6455 §5.2).
func reservedOpRows() []golden {
	var rows []golden
	for op := ws.OpCode(0); op <= 0xf; op++ {
		if !op.IsReserved() {
			continue
		}
		rows = append(rows, golden{
			name:   fmt.Sprintf("reserved opcode %#x", byte(op)),
			frames: []fr{{fin: true, op: op}},
			code:   ws.StatusProtocolError,
		})
	}
	return rows
}

// closeCodeRows are the close codes of Autobahn cases 7.7.x (accepted) and
// 7.9.x (refused), with the IANA-registered 1012-1014 (accepted) and the
// codes for reporting only, 1015, and beyond 4999 (refused).
func closeCodeRows() []golden {
	var rows []golden
	for _, c := range []ws.StatusCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		rows = append(rows, golden{
			name:   fmt.Sprintf("close code %d is accepted", c),
			frames: []fr{{fin: true, op: ws.OpClose, payload: closeBody(c, "")}},
			want:   []codec.Message{closeMsg(c, "")},
		})
	}
	for _, c := range []ws.StatusCode{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		rows = append(rows, golden{
			name:   fmt.Sprintf("close code %d is refused", c),
			frames: []fr{{fin: true, op: ws.OpClose, payload: closeBody(c, "")}},
			code:   ws.StatusProtocolError,
		})
	}
	return rows
}
