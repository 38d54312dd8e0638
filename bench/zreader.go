package bench

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/codec"
)

// zreader decodes a server's frames on a connection that negotiated
// permessage-deflate, where codec.Decoder (which fails any RSV bit) cannot:
// RFC 6455 §5 as the client sees it (unmasked frames, no reserved opcode,
// control frames final and at most 125 bytes, continuations only inside a
// message, the message cap, UTF-8 text) and RFC 7692 §6: RSV1 on the first
// frame of a data message, and only there, marks it compressed. Loop only.
type zreader struct {
	params deflateParams
	// discard counts compressed messages without inflating them (the
	// inflate scenario's echoes): their Payload is nil.
	discard bool
	// share lets the loop's memo keep what this connection's messages
	// inflate to: the same bytes reach other members (broadcast, rooms).
	share  bool
	window []byte // context takeover: the last bytes the server's compressed messages inflated to
	msg    []byte // the fragmented data message so far (compressed if msgZ)
	msgOp  ws.OpCode
	msgZ   bool
	err    error // first error; decode keeps returning it
}

// zmsg is a decoded message or control frame and how it came.
type zmsg struct {
	codec.Message
	compressed bool // RSV1: it was inflated (or, discarding, would have been)
	wire       int  // a data message's payload bytes as they came
	memo       bool // the loop had inflated the same bytes before
}

// frameHeader is a frame header as it is on the wire (RFC 6455 §5.2).
type frameHeader struct {
	fin    bool
	rsv    byte // RSV1 = 0b100, as ws.Header.Rsv
	op     ws.OpCode
	masked bool
	length int64 // negative when the 64-bit length has its top bit set
}

// maxKeptMsg is the reassembly buffer a connection keeps between messages.
const maxKeptMsg = 64 << 10

// decode consumes frames from the start of b until it completes a message
// or a control frame, or runs out of bytes (m.OpCode == 0, with n > 0 when
// fragments were consumed), as codec.Decoder.Decode does. m.Payload is
// valid until the next call, and until the caller discards the bytes.
func (z *zreader) decode(b []byte, f *inflater) (m zmsg, n int, err error) {
	if z.err != nil {
		return zmsg{}, 0, z.err
	}
	if z.msgOp == 0 && cap(z.msg) > maxKeptMsg {
		z.msg = nil
	}
	for {
		h, hsize := parseFrameHeader(b[n:])
		if hsize == 0 {
			return zmsg{}, n, nil
		}
		if err = z.check(h); err != nil {
			z.err = err
			return zmsg{}, n, err
		}
		if int64(len(b)-n-hsize) < h.length {
			return zmsg{}, n, nil
		}
		end := n + hsize + int(h.length)
		payload := b[n+hsize : end : end]
		n = end
		done, err := z.frame(h, payload, f, &m)
		if err != nil {
			z.err = err
			return zmsg{}, n, err
		}
		if done {
			return m, n, nil
		}
	}
}

// parseFrameHeader decodes the header at the start of b; n == 0 when b
// does not hold all of it.
func parseFrameHeader(b []byte) (h frameHeader, n int) {
	if len(b) < 2 {
		return h, 0
	}
	n = 2
	switch b[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	h.masked = b[1]&0x80 != 0
	if h.masked {
		n += 4
	}
	if len(b) < n {
		return h, 0
	}
	h.fin, h.rsv, h.op = b[0]&0x80 != 0, b[0]>>4&0b111, ws.OpCode(b[0]&0xf)
	switch l := b[1] & 0x7f; l {
	case 126:
		h.length = int64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		h.length = int64(binary.BigEndian.Uint64(b[2:]))
	default:
		h.length = int64(l)
	}
	return h, n
}

// check applies the rules that a header alone decides.
func (z *zreader) check(h frameHeader) error {
	if h.masked {
		return errMaskedFrame
	}
	if h.rsv&0b011 != 0 {
		return errRsvBits
	}
	switch h.op {
	case ws.OpPing, ws.OpPong, ws.OpClose:
		if h.rsv != 0 {
			return errRsvBits
		}
		if !h.fin || h.length > 125 {
			return errBadControl
		}
		return nil
	case ws.OpContinuation:
		if z.msgOp == 0 {
			return errBadContinue
		}
		if h.rsv != 0 {
			return errRsvBits
		}
	case ws.OpText, ws.OpBinary:
		if z.msgOp != 0 {
			return errBadContinue
		}
	default:
		return errReservedOpCode
	}
	buffered := 0 // what a continuation adds to
	if h.op == ws.OpContinuation {
		buffered = len(z.msg)
	}
	if h.length < 0 || int64(buffered)+h.length > maxClientMessage {
		return errTooBig
	}
	return nil
}

// frame takes one whole frame whose header passed check; done means m is
// complete.
func (z *zreader) frame(h frameHeader, payload []byte, f *inflater, m *zmsg) (done bool, err error) {
	switch h.op {
	case ws.OpPing, ws.OpPong:
		m.OpCode, m.Payload = h.op, payload
		return true, nil
	case ws.OpClose:
		return true, closeMessage(payload, &m.Message)
	case ws.OpContinuation:
		z.msg = append(z.msg, payload...)
		if !h.fin {
			return false, nil
		}
		return true, z.complete(z.msg, f, m)
	}
	z.msgOp, z.msgZ = h.op, h.rsv&rsv1 != 0
	if h.fin {
		return true, z.complete(payload, f, m)
	}
	z.msg = append(z.msg[:0], payload...)
	return false, nil
}

// complete finishes the data message whose payload, as it came, is p.
func (z *zreader) complete(p []byte, f *inflater, m *zmsg) error {
	op, compressed := z.msgOp, z.msgZ
	z.msgOp, z.msgZ = 0, false
	m.OpCode, m.compressed, m.wire = op, compressed, len(p)
	if compressed {
		if z.discard {
			return nil
		}
		var err error
		if p, err = z.inflate(p, f, m); err != nil {
			return err
		}
	}
	if op == ws.OpText && !utf8.Valid(p) {
		return errBadUTF8
	}
	m.Payload = p
	return nil
}

// inflate inflates a compressed message: through the loop's memo when the
// server keeps no context and others get the same bytes, else with this
// connection's window, if it keeps one.
func (z *zreader) inflate(p []byte, f *inflater, m *zmsg) ([]byte, error) {
	if z.params.serverNoContext && z.share {
		if out, ok := f.memo.get(p); ok {
			m.memo = true
			return out, nil
		}
		out, err := f.inflate(p, nil, maxClientMessage)
		if err != nil {
			return nil, err
		}
		return f.memo.put(p, out), nil
	}
	var dict []byte
	if !z.params.serverNoContext {
		dict = z.window
	}
	out, err := f.inflate(p, dict, maxClientMessage)
	if err != nil {
		return nil, err
	}
	if !z.params.serverNoContext {
		z.window = slide(z.window, out, z.params.windowSize())
	}
	return out, nil
}

// closeMessage reads a close frame's body (RFC 6455 §5.5.1): empty, or a
// code and a UTF-8 reason.
func closeMessage(p []byte, m *codec.Message) error {
	m.OpCode, m.Payload, m.CloseCode = ws.OpClose, p, ws.StatusNoStatusRcvd
	switch {
	case len(p) == 0:
		return nil
	case len(p) == 1:
		return errBadControl
	case !utf8.Valid(p[2:]):
		return errBadUTF8
	}
	m.CloseCode, m.CloseReason = ws.StatusCode(binary.BigEndian.Uint16(p)), string(p[2:])
	return nil
}

// count adds a data message that a zreader returned.
func (t *ZTraffic) count(m *zmsg) {
	if !m.compressed {
		t.ReceivedPlain++
		return
	}
	t.Received++
	t.ReceivedWire += int64(m.wire)
	t.Inflated += int64(len(m.Payload))
	if m.memo {
		t.Memo++
	}
}
