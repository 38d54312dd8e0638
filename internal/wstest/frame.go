package wstest

import (
	"encoding/binary"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/codec"
)

// Key is the Sec-WebSocket-Key of RFC 6455 §1.3 and Accept its answer.
const (
	Key    = "dGhlIHNhbXBsZSBub25jZQ=="
	Accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// Mask masks every frame a Conn sends.
var Mask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// Frame is one client frame on the wire, masked with Mask unless Unmasked.
type Frame struct {
	Fin      bool
	Op       ws.OpCode
	Rsv      byte // RSV1..3 in ws.Header.Rsv layout: 4, 2, 1
	Payload  []byte
	Unmasked bool
}

// Append appends the frame's bytes to dst.
func (f Frame) Append(dst []byte) []byte {
	return codec.AppendFrame(dst, ws.Header{
		Fin: f.Fin, Rsv: f.Rsv, OpCode: f.Op, Masked: !f.Unmasked, Mask: Mask,
	}, f.Payload)
}

// Bytes returns the frame's bytes.
func (f Frame) Bytes() []byte { return f.Append(nil) }

// Text, Binary, Close and Ping are final, masked frames.
func Text(s string) Frame       { return Frame{Fin: true, Op: ws.OpText, Payload: []byte(s)} }
func Binary(b []byte) Frame     { return Frame{Fin: true, Op: ws.OpBinary, Payload: b} }
func Close(body []byte) Frame   { return Frame{Fin: true, Op: ws.OpClose, Payload: body} }
func Ping(payload []byte) Frame { return Frame{Fin: true, Op: ws.OpPing, Payload: payload} }

// CloseBody is a close frame payload: code and reason.
func CloseBody(code ws.StatusCode, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}
