package codec

import (
	"math"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/valyala/bytebufferpool"
)

// DefaultMaxMessage caps a message (all its fragments) at 1 MiB.
const DefaultMaxMessage = 1 << 20

// Message is one complete data message or one control frame (RFC 6455 §5.4,
// §5.5).
//
// Payload aliases memory the Decoder does not own for long: the caller's
// buffer for an unfragmented message or a control frame, a pooled buffer for
// a reassembled message. It is valid until the caller discards the consumed
// bytes or calls Decode or Reset again, whichever comes first; copy what must
// live longer.
type Message struct {
	OpCode      ws.OpCode // OpText, OpBinary, OpClose, OpPing or OpPong; 0 = none
	Payload     []byte
	CloseCode   ws.StatusCode // OpClose only; StatusNoStatusRcvd when absent
	CloseReason string        // OpClose only
}

// Decoder turns a byte stream into messages (RFC 6455 §5). The zero value
// decodes client frames with a 1 MiB message cap.
//
// A Decoder belongs to one connection: all its methods are for the
// connection's event loop only. It is 48 bytes and holds no buffer between
// messages: while a fragmented message is in progress it holds one pooled
// buffer with the fragments so far, which goes back to the pool with the
// first Decode call after the message is returned.
type Decoder struct {
	// MaxMessage caps a message, all its fragments together; 0 (or less)
	// means DefaultMaxMessage. A frame that would exceed it fails with
	// ErrMessageTooBig (1009) as soon as its header is read.
	MaxMessage int64

	// Client makes the Decoder read a server's frames, which must not be
	// masked, instead of a client's, which must be (RFC 6455 §5.1).
	Client bool

	// rsvAllowed holds the RSV bits (ws.Header.Rsv layout) that a negotiated
	// extension gives a meaning to; permessage-deflate (RFC 7692) will set
	// RSV1 here. Zero: any RSV bit fails the connection.
	rsvAllowed byte

	fragOp ws.OpCode // opcode of the fragmented message in progress; 0 = none
	utf8   utf8State // validator state of a fragmented text message
	need   int32     // size of the frame Decode stopped at (capped); 0 = unknown
	frag   *bytebufferpool.ByteBuffer
	done   *bytebufferpool.ByteBuffer // reassembled message handed out last
	err    error                      // first error; Decode keeps returning it
}

// fragPool holds reassembly buffers; separate from the frame pool so that
// each calibrates to its own sizes.
var fragPool bytebufferpool.Pool

// Decode consumes frames from the start of b until it completes a message or
// control frame, or runs out of bytes. Event loop only.
//
// It returns the message and n, the bytes consumed, which the caller
// discards. Need more: m.OpCode == 0 and err == nil, with n > 0 when b began
// with fragments that were buffered. A frame is consumed only whole; its
// header is checked as soon as it is complete, so a violation fails before
// the payload arrives. Masked payloads are unmasked in place in b.
//
// On error, err is one of the *ProtocolError values of this package, n
// counts the frames consumed before the offending one, and every later call
// returns the same error until Reset.
//
// A reassembled payload goes back to the pool on the next Decode or Reset:
// the usual loop, which calls Decode until it needs more, releases it.
func (d *Decoder) Decode(b []byte) (m Message, n int, err error) {
	if d.err != nil {
		return Message{}, 0, d.err
	}
	d.releaseDone()
	d.need = 0
	for m.OpCode == 0 {
		var size int
		size, err = d.next(b[n:], &m)
		if err != nil {
			d.fail(err)
			return Message{}, n, err
		}
		if size == 0 {
			break
		}
		n += size
	}
	return m, n, nil
}

// Need returns how many bytes, counted from the first byte Decode did not
// consume, must be buffered before Decode can make progress: the whole frame
// it stopped at, capped at math.MaxInt32. 0 means unknown (the frame header itself is incomplete).
// An event loop uses it to skip peeking at a large frame that is still
// arriving. Event loop only.
func (d *Decoder) Need() int { return int(d.need) }

// Fragmented reports whether a fragmented message is in progress: its
// first fragment has been decoded, its final one not yet. Event loop only.
func (d *Decoder) Fragmented() bool { return d.fragOp != 0 }

// Buffered returns the bytes the Decoder holds for a fragmented message in
// progress (its reassembly buffer's capacity), 0 when none is. Event loop
// only.
func (d *Decoder) Buffered() int {
	if d.frag == nil {
		return 0
	}
	return cap(d.frag.B)
}

// Reset drops any partial message, returns pooled buffers and clears the
// error, keeping MaxMessage and Client. Event loop only.
func (d *Decoder) Reset() {
	d.releaseDone()
	d.releaseFrag()
	d.err, d.need = nil, 0
}

// next decodes the frame at the start of b into m (messages are written in
// place: copying them up the call chain costs more than decoding a small
// frame). size == 0 means need more; a consumed frame that completes
// nothing leaves m.OpCode == 0.
func (d *Decoder) next(b []byte, m *Message) (size int, err error) {
	h, hsize := parseHeader(b)
	if hsize == 0 {
		return 0, nil
	}
	err = d.checkHeader(h)
	if err != nil {
		return 0, err
	}
	if int64(len(b)-hsize) < h.Length {
		d.need = int32(min(int64(hsize)+h.Length, math.MaxInt32))
		return 0, nil
	}
	size = hsize + int(h.Length)
	payload := b[hsize:size:size] // an append by the caller must not overwrite the next frame
	if h.Masked {
		ws.Cipher(payload, h.Mask, 0)
	}
	if h.OpCode.IsControl() {
		return size, control(h.OpCode, payload, m)
	}
	return size, d.data(h, payload, m)
}

// data handles a text, binary or continuation frame whose header passed
// checkHeader.
func (d *Decoder) data(h ws.Header, payload []byte, m *Message) error {
	if h.OpCode != ws.OpContinuation && h.Fin {
		return whole(h.OpCode, payload, m)
	}
	if h.OpCode != ws.OpContinuation {
		d.fragOp = h.OpCode
		d.utf8 = utf8Accept
		d.frag = fragPool.Get()
	}
	if d.fragOp == ws.OpText {
		d.utf8 = d.utf8.validate(payload)
		if d.utf8 == utf8Reject || h.Fin && d.utf8 != utf8Accept {
			return ErrInvalidUTF8
		}
	}
	d.frag.B = append(d.frag.B, payload...)
	if h.Fin {
		m.OpCode, m.Payload = d.fragOp, d.frag.B[:len(d.frag.B):len(d.frag.B)]
		d.done, d.frag, d.fragOp = d.frag, nil, 0
	}
	return nil
}

// whole returns an unfragmented message, its payload still in the caller's
// buffer.
func whole(op ws.OpCode, payload []byte, m *Message) error {
	if op == ws.OpText && !utf8.Valid(payload) {
		return ErrInvalidUTF8
	}
	m.OpCode, m.Payload = op, payload
	return nil
}

// maxMessage is the effective message cap.
func (d *Decoder) maxMessage() int64 {
	if d.MaxMessage <= 0 {
		return DefaultMaxMessage
	}
	return d.MaxMessage
}

// buffered is the size of the fragmented message in progress.
func (d *Decoder) buffered() int {
	if d.frag == nil {
		return 0
	}
	return len(d.frag.B)
}

// fail records err and drops what the connection no longer needs.
func (d *Decoder) fail(err error) {
	d.releaseFrag()
	d.err = err
}

func (d *Decoder) releaseFrag() {
	if d.frag != nil {
		fragPool.Put(d.frag)
	}
	d.frag, d.fragOp, d.utf8 = nil, 0, utf8Accept
}

func (d *Decoder) releaseDone() {
	if d.done != nil {
		fragPool.Put(d.done)
		d.done = nil
	}
}
