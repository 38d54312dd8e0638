package codec_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strings"

	"github.com/gobwas/ws"
	"github.com/wshub/wshub/codec"
)

// This file writes frames for the golden table with its own encoder, so
// that the table does not trust the code it tests; the RFC 6455 §5.7 rows,
// given in hex, pin this encoder down.

// testMask is the masking key of every masked frame in the table (the one
// of the examples in RFC 6455 §5.7).
var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// fr describes one frame on the wire.
type fr struct {
	fin      bool
	rsv      byte // RSV1..3 in the ws.Header.Rsv layout: 4, 2, 1
	op       ws.OpCode
	payload  string
	declare  uint64 // length to put in the header instead; the payload is then left out
	form     int    // 16 or 64: force that length form; 0: the shortest
	flipMask bool   // mask it in a client's row, leave it unmasked in a server's
}

// wire encodes f, masked with testMask if masked.
func (f fr) wire(masked bool) []byte {
	b0 := f.rsv<<4 | byte(f.op)
	if f.fin {
		b0 |= 0x80
	}
	n := uint64(len(f.payload))
	if f.declare != 0 {
		n = f.declare
	}
	b := appendLength([]byte{b0}, n, f.form)
	if masked {
		b[1] |= 0x80
		b = append(b, testMask[:]...)
	}
	if f.declare != 0 {
		return b
	}
	for i := 0; i < len(f.payload); i++ {
		c := f.payload[i]
		if masked {
			c ^= testMask[i%4]
		}
		b = append(b, c)
	}
	return b
}

func appendLength(b []byte, n uint64, form int) []byte {
	if form == 0 {
		form = 64
		if n < 126 {
			form = 7
		} else if n <= 0xffff {
			form = 16
		}
	}
	switch form {
	case 7:
		return append(b, byte(n))
	case 16:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 127), n)
}

// header is the ws.Header that codec.AppendFrame needs to produce f.wire.
func (f fr) header(masked bool) ws.Header {
	h := ws.Header{Fin: f.fin, Rsv: f.rsv, OpCode: f.op, Masked: masked}
	if masked {
		h.Mask = testMask
	}
	return h
}

// hx decodes hex written with spaces for readability.
func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// Expected messages.

func txt(s string) codec.Message  { return codec.Message{OpCode: ws.OpText, Payload: []byte(s)} }
func bin(s string) codec.Message  { return codec.Message{OpCode: ws.OpBinary, Payload: []byte(s)} }
func ping(s string) codec.Message { return codec.Message{OpCode: ws.OpPing, Payload: []byte(s)} }
func pong(s string) codec.Message { return codec.Message{OpCode: ws.OpPong, Payload: []byte(s)} }

func closeMsg(code ws.StatusCode, reason string) codec.Message {
	m := codec.Message{OpCode: ws.OpClose, CloseCode: code, CloseReason: reason}
	if code != ws.StatusNoStatusRcvd {
		m.Payload = []byte(closeBody(code, reason))
	}
	return m
}

// closeBody is the payload of a close frame.
func closeBody(code ws.StatusCode, reason string) string {
	return string(binary.BigEndian.AppendUint16(nil, uint16(code))) + reason
}

// sameMessage compares messages, a nil payload equal to an empty one.
func sameMessage(a, b codec.Message) bool {
	return a.OpCode == b.OpCode && bytes.Equal(a.Payload, b.Payload) &&
		a.CloseCode == b.CloseCode && a.CloseReason == b.CloseReason
}

// pattern is n bytes of recognisable ASCII (so valid as text too).
func pattern(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var sb strings.Builder
	for i := range n {
		sb.WriteByte(alphabet[i%len(alphabet)])
	}
	return sb.String()
}
