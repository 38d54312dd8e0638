package codec

import (
	"slices"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/valyala/bytebufferpool"
)

// Frame is an encoded server frame (RFC 6455 §5.2: FIN set, not masked),
// header and payload contiguous in one pooled buffer so that one write sends
// it. A broadcast encodes a message once and shares the Frame between all
// recipients.
//
// A Frame is immutable once built and safe to share between goroutines; its
// reference count is atomic. Every holder calls Release once: the last
// Release returns the buffer and the Frame to their pools, after which
// neither may be used.
type Frame struct {
	buf  *bytebufferpool.ByteBuffer
	refs atomic.Int32

	// The same message compressed (permessage-deflate), built by the first
	// Deflated call; the frame holds one reference to it.
	zmu   sync.Mutex
	zdone bool
	z     *Frame
}

var (
	framePool = sync.Pool{New: func() any { return new(Frame) }}
	frameBufs bytebufferpool.Pool
)

// maxCloseReason is the room for a reason in a close frame, after the code.
const maxCloseReason = ws.MaxControlFramePayloadSize - 2

// NewFrame encodes one final, unmasked frame with a copy of payload, holding
// one reference. op is OpText, OpBinary, OpClose, OpPing or OpPong; it
// panics on any other opcode, and on a control payload over 125 bytes
// (RFC 6455 §5.5), which are bugs in the caller. Safe from any goroutine.
func NewFrame(op ws.OpCode, payload []byte) *Frame {
	checkNewFrame(op, len(payload))
	f := framePool.Get().(*Frame)
	h := ws.Header{Fin: true, OpCode: op, Length: int64(len(payload))}
	f.buf = frameBufs.Get()
	f.buf.B = slices.Grow(f.buf.B, ws.HeaderSize(h)+len(payload))
	f.buf.B = AppendFrame(f.buf.B, h, payload)
	f.refs.Store(1)
	return f
}

func checkNewFrame(op ws.OpCode, n int) {
	if op == ws.OpContinuation || op.IsReserved() {
		panic("codec: NewFrame with a continuation or reserved opcode")
	}
	if op.IsControl() && n > ws.MaxControlFramePayloadSize {
		panic("codec: NewFrame with a control payload over 125 bytes")
	}
}

// NewCloseFrame encodes a close frame (RFC 6455 §5.5.1) with code and
// reason, the reason cut to fit 125 bytes at a UTF-8 boundary. Code 0 or
// StatusNoStatusRcvd makes a close frame with no body, since 1005 must not be
// sent. Safe from any goroutine.
func NewCloseFrame(code ws.StatusCode, reason string) *Frame {
	if code == 0 || code == ws.StatusNoStatusRcvd {
		return NewFrame(ws.OpClose, nil)
	}
	reason = TrimCloseReason(reason)
	var body [ws.MaxControlFramePayloadSize]byte
	ws.PutCloseFrameBody(body[:], code, reason)
	return NewFrame(ws.OpClose, body[:2+len(reason)])
}

// TrimCloseReason returns reason as NewCloseFrame sends it: cut to the 123
// bytes a close frame has room for, at a UTF-8 boundary. Safe from any
// goroutine.
func TrimCloseReason(reason string) string { return truncateUTF8(reason, maxCloseReason) }

// truncateUTF8 cuts s to at most n bytes without splitting a code point.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Deflated returns the frame's message compressed for the connections
// that negotiated permessage-deflate (see DeflateFrame), built by the
// first call and shared by every later one, or nil for a control frame, a
// payload under min bytes, or one that compression does not make smaller.
// The result lives as long as f: a holder that keeps it past its own
// reference to f takes one of its own (Retain). Safe from any goroutine;
// concurrent first calls wait for the one that compresses.
func (f *Frame) Deflated(level, min int) *Frame {
	f.zmu.Lock()
	defer f.zmu.Unlock()
	if !f.zdone {
		f.zdone = true
		op := ws.OpCode(f.buf.B[0] & 0x0f)
		if p := f.Payload(); op.IsData() && len(p) >= min {
			f.z = DeflateFrame(op, p, level)
		}
	}
	return f.z
}

// Payload returns the frame's payload, the bytes after its header. Safe
// from any goroutine.
func (f *Frame) Payload() []byte { return f.buf.B[headerSize(f.buf.B[1]):] }

// Bytes returns the encoded frame. The slice must not be modified, and not
// be used after the holder's Release. Safe from any goroutine.
func (f *Frame) Bytes() []byte { return f.buf.B }

// Len is the size of the encoded frame. Safe from any goroutine.
func (f *Frame) Len() int { return len(f.buf.B) }

// Retain adds n references, one per extra holder, each of which will call
// Release. It panics if the frame was already released. Safe from any
// goroutine.
func (f *Frame) Retain(n int32) {
	if n < 0 {
		panic("codec: Frame.Retain with a negative count")
	}
	if f.refs.Add(n) <= n {
		panic("codec: Frame.Retain after the last Release")
	}
}

// Release drops one reference; the last one returns the frame to its pools.
// Releasing more often than retained panics: it is a bug in the caller. Safe
// from any goroutine.
func (f *Frame) Release() {
	switch refs := f.refs.Add(-1); {
	case refs > 0:
		return
	case refs < 0:
		panic("codec: Frame.Release called more times than Retain (reference count below zero)")
	}
	frameBufs.Put(f.buf)
	f.buf = nil
	if f.z != nil {
		f.z.Release()
		f.z = nil
	}
	f.zdone = false
	framePool.Put(f)
}

// AppendFrame appends the frame h with payload to dst and returns the
// extended slice. h.Length is set from len(payload). If h.Masked, the
// appended copy of the payload is masked with h.Mask; payload itself is not
// modified. It does not check h against RFC 6455, so tests and load clients
// can build invalid frames too. Safe from any goroutine.
func AppendFrame(dst []byte, h ws.Header, payload []byte) []byte {
	h.Length = int64(len(payload))
	dst = appendHeader(dst, h)
	start := len(dst)
	dst = append(dst, payload...)
	if h.Masked {
		ws.Cipher(dst[start:], h.Mask, 0)
	}
	return dst
}
