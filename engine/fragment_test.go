package engine_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// fragments splits payload into a message of len(parts) frames: op first,
// continuations after it, FIN on the last.
func fragments(op ws.OpCode, parts ...string) []frame {
	fs := make([]frame, len(parts))
	for i, p := range parts {
		fs[i] = frame{Fin: i == len(parts)-1, Op: ws.OpContinuation, Payload: []byte(p)}
	}
	fs[0].Op = op
	return fs
}

// TestFragmentedMessages sends fragmented messages as raw frames and expects
// each echoed as one message with the assembled payload.
func TestFragmentedMessages(t *testing.T) {
	t.Parallel()
	_, addr := serve(t, echo())
	many := make([]string, 100)
	for i := range many {
		many[i] = string(rune('a' + i%26))
	}
	tests := []struct {
		name   string
		frames []frame
		// byteByByte writes the frames one byte per write, so that every
		// header and payload arrives in pieces.
		byteByByte bool
		wantOp     ws.OpCode
		want       string
	}{
		{
			name:   "text in 3 fragments, a rune split across two",
			frames: fragments(ws.OpText, "Hello, w\xc3", "\xb6rld", "!"),
			wantOp: ws.OpText, want: "Hello, wörld!",
		},
		{
			name:   "4-byte rune split over 3 fragments",
			frames: fragments(ws.OpText, "clef \xf0\x9d", "\x84", "\x9e."),
			wantOp: ws.OpText, want: "clef 𝄞.",
		},
		{
			name:   "binary in 3 fragments",
			frames: fragments(ws.OpBinary, "\x00\x01\x02", "\xff\xfe", "\x80"),
			wantOp: ws.OpBinary, want: "\x00\x01\x02\xff\xfe\x80",
		},
		{
			name:   "zero-length first and middle fragments",
			frames: fragments(ws.OpText, "", "", "abc"),
			wantOp: ws.OpText, want: "abc",
		},
		{
			name:   "zero-length final fragment",
			frames: fragments(ws.OpBinary, "abc", ""),
			wantOp: ws.OpBinary, want: "abc",
		},
		{
			name:   "all fragments empty",
			frames: fragments(ws.OpText, "", "", ""),
			wantOp: ws.OpText, want: "",
		},
		{
			name:   "100 one-byte fragments",
			frames: fragments(ws.OpText, many...),
			wantOp: ws.OpText, want: string(bytes.Join(toBytes(many), nil)),
		},
		{
			name:       "3 fragments written one byte at a time",
			frames:     fragments(ws.OpText, "Hello, w\xc3", "\xb6rld", "!"),
			byteByByte: true,
			wantOp:     ws.OpText, want: "Hello, wörld!",
		},
		{
			name:       "unfragmented 300-byte message written one byte at a time",
			frames:     []frame{text(string(payloadOf(ws.OpText, 300)))},
			byteByByte: true,
			wantOp:     ws.OpText, want: string(payloadOf(ws.OpText, 300)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := dialUpgraded(t, addr)
			if tt.byteByByte {
				var b []byte
				for _, f := range tt.frames {
					b = f.Append(b)
				}
				for i := range b {
					c.Write(b[i : i+1])
					time.Sleep(time.Millisecond)
				}
			} else {
				c.Send(tt.frames...)
			}
			c.ExpectFrame(tt.wantOp, []byte(tt.want))
			// The connection is still in sync: a plain message follows.
			c.Send(text("next"))
			c.ExpectFrame(ws.OpText, []byte("next"))
		})
	}
}

func toBytes(ss []string) [][]byte {
	bs := make([][]byte, len(ss))
	for i, s := range ss {
		bs[i] = []byte(s)
	}
	return bs
}

// TestPing: every ping is answered with a pong carrying its payload, also
// between the fragments of a message, which still arrives intact; an
// unsolicited pong is ignored.
func TestPing(t *testing.T) {
	t.Parallel()
	_, addr := serve(t, echo())
	ping := func(p string) frame { return frame{Fin: true, Op: ws.OpPing, Payload: []byte(p)} }
	pong := func(p string) frame { return frame{Fin: true, Op: ws.OpPong, Payload: []byte(p)} }
	msg := fragments(ws.OpText, "first half, ", "second half")
	longest := strings.Repeat("m", 125)
	tests := []struct {
		name string
		// steps are sent one after the other; after each, the frames in
		// its want are read before the next step is sent.
		steps []step
	}{
		{name: "empty ping", steps: []step{{send: []frame{ping("")}, want: []frame{pong("")}}}},
		{name: "125-byte ping", steps: []step{{send: []frame{ping(longest)}, want: []frame{pong(longest)}}}},
		{name: "binary payload", steps: []step{{send: []frame{ping("\x00\xff\x80")}, want: []frame{pong("\x00\xff\x80")}}}},
		{
			name: "pong before the final fragment is sent",
			steps: []step{
				{send: []frame{msg[0], ping("ping \x00\xff payload")}, want: []frame{pong("ping \x00\xff payload")}},
				{send: msg[1:], want: []frame{text("first half, second half")}},
			},
		},
		{
			name: "ping between fragments, all in one write",
			steps: []step{{
				send: []frame{msg[0], ping("p1"), ping("p2"), msg[1]},
				want: []frame{pong("p1"), pong("p2"), text("first half, second half")},
			}},
		},
		{
			name:  "unsolicited pong is ignored",
			steps: []step{{send: []frame{pong("unasked"), text("after pong")}, want: []frame{text("after pong")}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := dialUpgraded(t, addr)
			for _, s := range tt.steps {
				c.Send(s.send...)
				for _, w := range s.want {
					c.ExpectFrame(w.Op, w.Payload)
				}
			}
		})
	}
}

// step is one write of a raw client and the frames it must bring back.
type step struct {
	send []frame
	want []frame
}

// TestFramesInHandshakeWrite sends the request head and the first frames in
// one write: none of the bytes after the head may be lost.
func TestFramesInHandshakeWrite(t *testing.T) {
	t.Parallel()
	_, addr := serve(t, echo())
	big := payloadOf(ws.OpBinary, 70000)
	tests := []struct {
		name   string
		frames []frame
		// rest is sent in a second write after the 101 was read.
		rest []frame
		want []frame // server frames expected, in order (fin/op/payload)
	}{
		{
			name:   "one text frame",
			frames: []frame{text("first")},
			want:   []frame{text("first")},
		},
		{
			name: "text, binary, fragmented text and ping",
			frames: append([]frame{text("one"), bin([]byte{0, 1, 2})},
				append(fragments(ws.OpText, "th", "r", "ee"),
					frame{Fin: true, Op: ws.OpPing, Payload: []byte("p")})...),
			want: []frame{text("one"), bin([]byte{0, 1, 2}), text("three"),
				{Fin: true, Op: ws.OpPong, Payload: []byte("p")}},
		},
		{
			name:   "first fragment in the head's write, the rest later",
			frames: fragments(ws.OpBinary, "ab", "cd", "ef")[:1],
			rest:   fragments(ws.OpBinary, "ab", "cd", "ef")[1:],
			want:   []frame{bin([]byte("abcdef"))},
		},
		{
			name:   "70000-byte binary frame after the head",
			frames: []frame{bin(big)},
			want:   []frame{bin(big)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := dialRaw(t, addr)
			b := []byte(upgradeRequest(addr, wsPath))
			for _, f := range tt.frames {
				b = f.Append(b)
			}
			c.Write(b)
			c.ExpectUpgrade()
			if len(tt.rest) > 0 {
				c.Send(tt.rest...)
			}
			for _, w := range tt.want {
				c.ExpectFrame(w.Op, w.Payload)
			}
		})
	}
}
