package codec

import (
	"bytes"
	"sync"
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
// buffer for an unfragmented message or a control frame that arrived whole,
// a pooled buffer for a reassembled or inflated message. It is valid until the caller discards the consumed
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
// A frame that is all in the buffer given to Decode is decoded in place; an
// unfragmented one is handed out without a copy. The payload of a frame that
// is still arriving is taken as it comes: unmasked, validated when it is
// text (so invalid UTF-8 fails at the first bad byte, RFC 6455 §8.1, not
// when the frame ends) and kept in a pooled buffer until the message is
// complete, so a large frame never sits whole in the caller's buffer.
//
// With permessage-deflate (SetDeflate), a message whose first frame has
// RSV1 set is inflated when its last byte is in, into a pooled buffer,
// with its size capped and its text validated while it inflates.
//
// A Decoder belongs to one connection: all its methods are for the
// connection's event loop only. It is 48 bytes and holds no buffer between
// messages (a peer that keeps its compression context has its window kept):
// while a message is in progress it holds what has arrived of it, which
// goes back to the pool with the first Decode call after the message is
// returned.
type Decoder struct {
	// MaxMessage caps a message, all its fragments together, and a
	// compressed message's inflated size; 0 (or less) means
	// DefaultMaxMessage. A frame that would exceed it fails with
	// ErrMessageTooBig (1009) as soon as its header is read; a compressed
	// message, as soon as inflating passes it.
	MaxMessage int64

	// Client makes the Decoder read a server's frames, which must not be
	// masked, instead of a client's, which must be (RFC 6455 §5.1).
	Client bool

	// rsvAllowed holds the RSV bits (ws.Header.Rsv layout) that a negotiated
	// extension gives a meaning to: RSV1 with permessage-deflate (RFC 7692).
	// Zero: any RSV bit fails the connection.
	rsvAllowed byte

	need int32          // size of the frame Decode stopped at (capped); 0 = unknown
	msg  *partial       // the message in progress; nil = none
	done *partial       // the reassembled or inflated message handed out last
	win  *window        // the peer's compression window (context takeover); nil = none
	err  *ProtocolError // first error; Decode keeps returning it
}

// partial is a message in progress: what has arrived of it, and where the
// frame that is arriving stands.
type partial struct {
	buf  *bytebufferpool.ByteBuffer // payload so far (compressed, for a compressed message)
	out  *bytebufferpool.ByteBuffer // the inflated message, once complete
	left int64                      // payload bytes of the current frame still to come
	pos  int                        // the mask offset of the next one
	mask [4]byte
	op   ws.OpCode    // OpText or OpBinary
	fin  bool         // the current frame is the message's last
	mark bool         // the current frame is masked
	z    bool         // compressed (RSV1 on its first frame)
	utf8 utf8State    // validator state (uncompressed text)
	src  bytes.Reader // what inflating reads: the payload and deflateTail
}

var partials = sync.Pool{New: func() any { return new(partial) }}

// Message buffers: what has arrived of messages in progress, and inflated
// messages. Separate from the frame pool and from each other, so that each
// calibrates to its own sizes: inflated sizes are the client's to choose.
var (
	fragPool    bytebufferpool.Pool
	inflatePool bytebufferpool.Pool
)

// takeFrag returns a buffer for a message in progress of which arrived
// bytes are here. A pooled buffer much larger than that is not taken: a
// client that announces a large frame and sends a byte of it must not pin
// a buffer the pool sized for others (the buffer budget counts capacity,
// and only from InboundMin up); the buffer grows as the message arrives.
func takeFrag(arrived int) *bytebufferpool.ByteBuffer {
	b := fragPool.Get()
	if cap(b.B) > 4*arrived+fragSlack {
		// Dropped, not put back: the pool would hand it out again at once.
		b = &bytebufferpool.ByteBuffer{B: make([]byte, 0, 2*arrived+512)}
	}
	return b
}

// fragSlack is the most a message buffer may hold beyond four times what
// has arrived.
const fragSlack = 4 << 10

// SetDeflate turns permessage-deflate (RFC 7692) on for this connection:
// RSV1 on a message's first frame marks it compressed. windowBits is the
// peer's negotiated window (Deflate.ClientWindowBits): 0 when it keeps no
// context across messages, else the window kept here to inflate with. Call
// before the first Decode. Event loop only.
func (d *Decoder) SetDeflate(windowBits uint8) {
	d.rsvAllowed = rsv1
	d.win = nil
	if windowBits != 0 {
		d.win = newWindow(windowBits)
	}
}

// Decode consumes frames from the start of b until it completes a message or
// control frame, or runs out of bytes. Event loop only.
//
// It returns the message and n, the bytes consumed, which the caller
// discards. Need more: m.OpCode == 0 and err == nil, with n > 0 when b began
// with frames or parts of a frame that were taken. A frame's header is
// checked as soon as it is complete, so a violation fails before the
// payload arrives. Control frames are consumed only whole. Masked payloads
// are unmasked in place in b.
//
// On error, err is one of the *ProtocolError values of this package, n
// counts the bytes consumed before the offending frame, and every later
// call returns the same error until Reset.
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
		if d.msg != nil && d.msg.left > 0 {
			size, err = d.more(b[n:], &m)
		} else {
			size, err = d.next(b[n:], &m)
		}
		if err != nil {
			d.fail(err)
			return Message{}, n, d.err
		}
		if size == 0 {
			break
		}
		n += size
	}
	return m, n, nil
}

// Need returns how many bytes, counted from the first byte Decode did not
// consume, must be buffered before Decode can make progress: the whole
// control frame it stopped at. 0 means any byte helps: a frame header is
// incomplete, or a data frame's payload is taken as it arrives.
// An event loop uses it to skip peeking at a frame that cannot complete.
// Event loop only.
func (d *Decoder) Need() int { return int(d.need) }

// Fragmented reports whether a message is in progress: part of it has been
// consumed (its first fragment, or the start of a frame still arriving),
// its end not yet. Event loop only.
func (d *Decoder) Fragmented() bool { return d.msg != nil }

// Buffered returns the bytes the Decoder holds for a message in progress
// (its buffer's capacity), 0 when none is. Event loop only.
func (d *Decoder) Buffered() int {
	if d.msg == nil || d.msg.buf == nil {
		return 0
	}
	return cap(d.msg.buf.B)
}

// Reset drops any partial message, returns pooled buffers and clears the
// error, keeping MaxMessage, Client and the deflate setting (the peer's
// window is emptied and its memory let go). Event loop only.
func (d *Decoder) Reset() {
	d.releaseDone()
	d.releaseMsg()
	d.err, d.need = nil, 0
	if d.win != nil {
		d.win.buf = nil
	}
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
	whole := int64(len(b)-hsize) >= h.Length
	if h.OpCode.IsControl() {
		if !whole {
			d.need = int32(hsize) + int32(h.Length)
			return 0, nil
		}
		size = hsize + int(h.Length)
		payload := b[hsize:size:size]
		if h.Masked {
			ws.Cipher(payload, h.Mask, 0)
		}
		return size, control(h.OpCode, payload, m)
	}
	if whole && h.Fin && d.msg == nil {
		// An unfragmented message, all here: decoded in place.
		size = hsize + int(h.Length)
		payload := b[hsize:size:size] // an append by the caller must not overwrite the next frame
		if h.Masked {
			ws.Cipher(payload, h.Mask, 0)
		}
		if h.Rsv&rsv1 != 0 {
			return size, d.inflate(h.OpCode, payload, nil, m)
		}
		return size, unfragmented(h.OpCode, payload, m)
	}
	// A fragment, or a frame still arriving: its payload joins the
	// message's buffer as it comes.
	if d.msg == nil {
		p := partials.Get().(*partial)
		p.op, p.z, p.utf8 = h.OpCode, h.Rsv&rsv1 != 0, utf8Accept
		p.buf = takeFrag(int(min(int64(len(b)-hsize), h.Length)))
		d.msg = p
	}
	p := d.msg
	p.left, p.pos, p.mask, p.mark, p.fin = h.Length, 0, h.Mask, h.Masked, h.Fin
	n, err := d.more(b[hsize:], m)
	return hsize + n, err
}

// more takes what b holds of the current frame's payload, and completes the
// message when that was its last byte.
func (d *Decoder) more(b []byte, m *Message) (int, error) {
	p := d.msg
	k := int(min(int64(len(b)), p.left))
	chunk := b[:k:k]
	if p.mark {
		ws.Cipher(chunk, p.mask, p.pos)
		p.pos += k
	}
	if p.op == ws.OpText && !p.z {
		if p.utf8 = p.utf8.validate(chunk); p.utf8 == utf8Reject {
			return 0, ErrInvalidUTF8
		}
	}
	p.buf.B = append(p.buf.B, chunk...)
	p.left -= int64(k)
	if p.left > 0 || !p.fin {
		return k, nil
	}
	// The message is complete.
	if p.z {
		if err := d.inflate(p.op, p.buf.B, p, m); err != nil {
			return 0, err
		}
	} else {
		if p.op == ws.OpText && p.utf8 != utf8Accept {
			return 0, ErrInvalidUTF8
		}
		m.OpCode, m.Payload = p.op, p.buf.B[:len(p.buf.B):len(p.buf.B)]
	}
	d.done, d.msg = p, nil
	return k, nil
}

// inflate completes a compressed message: its payload in (p's buffer, or
// the caller's for an unfragmented frame, p then nil) inflates into a
// pooled buffer handed out as m's payload.
func (d *Decoder) inflate(op ws.OpCode, in []byte, p *partial, m *Message) error {
	if p == nil {
		p = partials.Get().(*partial)
		p.op = op
		d.done = p // released with the next Decode, or by fail
	}
	p.out = inflatePool.Get()
	if len(in) == 0 {
		// Not a deflate stream (senders write 0x00 for an empty message,
		// §7.2.3.6), but zlib-based receivers read it as empty: so do we.
		m.OpCode, m.Payload = op, p.out.B[:0:0]
		return nil
	}
	// The stream with its tail, in one slice: flate reads a *bytes.Reader
	// on its fast path. A fragment buffer is ours to extend; a frame in
	// the caller's buffer is copied (it is the compressed size).
	if p.buf == nil {
		p.buf = fragPool.Get()
		p.buf.B = append(p.buf.B[:0], in...)
	}
	p.buf.B = append(p.buf.B, deflateTail...)
	p.src.Reset(p.buf.B)
	var dict []byte
	if d.win != nil {
		dict = d.win.buf
	}
	var err error
	p.out.B, err = inflateTo(&p.src, p.out.B[:0], dict, d.maxMessage(), op == ws.OpText)
	if err != nil {
		return err
	}
	if d.win != nil {
		d.win.add(p.out.B)
	}
	m.OpCode, m.Payload = op, p.out.B[:len(p.out.B):len(p.out.B)]
	return nil
}

// unfragmented returns an unfragmented message, its payload still in the
// caller's buffer.
func unfragmented(op ws.OpCode, payload []byte, m *Message) error {
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

// buffered is the size of the message in progress, as it came on the wire.
func (d *Decoder) buffered() int {
	if d.msg == nil {
		return 0
	}
	return len(d.msg.buf.B)
}

// fail records err and drops what the connection no longer needs.
func (d *Decoder) fail(err error) {
	d.releaseMsg()
	d.releaseDone()
	pe, ok := err.(*ProtocolError)
	if !ok {
		pe = protocolErr(ws.StatusProtocolError, err.Error())
	}
	d.err = pe
}

func (d *Decoder) releaseMsg() {
	if d.msg != nil {
		release(d.msg)
		d.msg = nil
	}
}

func (d *Decoder) releaseDone() {
	if d.done != nil {
		release(d.done)
		d.done = nil
	}
}

// release returns p and its buffers to their pools.
func release(p *partial) {
	if p.buf != nil {
		fragPool.Put(p.buf)
	}
	if p.out != nil {
		inflatePool.Put(p.out)
	}
	*p = partial{} // (a bytes.Reader's zero value reads nothing: src is clean)
	partials.Put(p)
}
