package codec

import (
	"bytes"
	"io"
	"slices"
	"sync"

	"github.com/gobwas/ws"
	"github.com/klauspost/compress/flate"
)

// Compression and decompression of permessage-deflate messages (RFC 7692
// §7.2), with github.com/klauspost/compress/flate: on this project's
// payloads (JSON-like text, 1 KB and 64 KB) it deflates 1.4 to 4 times as
// fast as compress/flate at the same level and ratio and inflates 1.3 to
// 1.6 times as fast, without allocating (BenchmarkDeflate, BenchmarkInflate).
//
// Neither side keeps a compressor: a message is compressed on its own
// (server_no_context_takeover) with a pooled writer, and inflated with a
// pooled reader, given the peer's window as history when the peer keeps
// one (DeflateConfig.ClientWindowBits).

// Compression levels, as in compress/flate.
const (
	BestSpeed          = flate.BestSpeed
	BestCompression    = flate.BestCompression
	DefaultCompression = flate.DefaultCompression
)

// deflateTail ends every compressed message on the wire, removed by the
// sender and put back by the receiver (§7.2.1, §7.2.2); the empty final
// block after it makes the reader end with io.EOF.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// rsv1 is the Per-Message Compressed bit in ws.Header.Rsv (§6).
var rsv1 = ws.Rsv(true, false, false)

var writers [BestCompression + 3]sync.Pool // by level + 2 (HuffmanOnly is -2)

// DeflateFrame compresses payload into one final frame for a connection that
// negotiated permessage-deflate: RSV1 set, the deflate stream's empty-block
// tail removed. It returns nil when compressing does not make the frame
// smaller. level is a compress/flate level (-2 to 9). op is OpText or
// OpBinary. Safe from any goroutine.
func DeflateFrame(op ws.OpCode, payload []byte, level int) *Frame {
	level = max(min(level, BestCompression), flate.HuffmanOnly)
	z := frameBufs.Get()
	defer frameBufs.Put(z)
	w, _ := writers[level+2].Get().(*flate.Writer)
	if w == nil {
		w, _ = flate.NewWriter(z, level) // cannot fail on a level in range
	} else {
		w.Reset(z)
	}
	_, _ = w.Write(payload) // a bytebufferpool.ByteBuffer does not fail
	_ = w.Flush()
	writers[level+2].Put(w)
	body := z.B[:len(z.B)-4] // the 00 00 ff ff of the sync flush
	if len(body) >= len(payload) {
		return nil
	}
	f := framePool.Get().(*Frame)
	h := ws.Header{Fin: true, Rsv: rsv1, OpCode: op, Length: int64(len(body))}
	f.buf = frameBufs.Get()
	f.buf.B = slices.Grow(f.buf.B, ws.HeaderSize(h)+len(body))
	f.buf.B = AppendFrame(f.buf.B, h, body)
	f.refs.Store(1)
	return f
}

var readers = sync.Pool{New: func() any { return flate.NewReader(nil) }}

// inflateTo inflates the compressed message src reads (its tail put back)
// after dict, the peer's window, appending to out while it stays within
// capBytes; text is validated as it inflates. The errors: ErrMessageTooBig
// as soon as the output passes capBytes, ErrInvalidUTF8 at the first
// invalid sequence, ErrBadDeflate for a stream that does not inflate.
func inflateTo(src *bytes.Reader, out, dict []byte, capBytes int64, text bool) ([]byte, error) {
	in := src.Len()
	r := readers.Get().(io.ReadCloser)
	defer readers.Put(r)
	_ = r.(flate.Resetter).Reset(src, dict)
	limit := int(min(capBytes, int64(int(^uint(0)>>1)-1))) + 1 // one byte over the cap tells
	state := utf8Accept
	if cap(out)-len(out) < 512 {
		out = slices.Grow(out, min(max(in*4, 512), limit-len(out)))
	}
	for {
		if len(out) == cap(out) {
			out = slices.Grow(out, min(cap(out), limit-len(out)))
		}
		n, err := r.Read(out[len(out):cap(out)])
		if text && n > 0 {
			if state = state.validate(out[len(out) : len(out)+n]); state == utf8Reject {
				return out, ErrInvalidUTF8
			}
		}
		out = out[:len(out)+n]
		if int64(len(out)) > capBytes {
			return out, ErrMessageTooBig
		}
		switch {
		case err == io.EOF:
			if text && state != utf8Accept {
				return out, ErrInvalidUTF8
			}
			return out, nil
		case err != nil:
			return out, ErrBadDeflate
		}
	}
}

// window is the history a connection's peer compresses against (client
// context takeover): the last size bytes of the messages it sent
// compressed.
type window struct {
	buf  []byte
	size int
}

// newWindow makes a window of 2^bits bytes; its memory is taken by the
// first message.
func newWindow(bits uint8) *window { return &window{size: 1 << bits} }

// add appends a message to the history, keeping the last size bytes.
func (w *window) add(p []byte) {
	if w.buf == nil {
		w.buf = make([]byte, 0, w.size)
	}
	if len(p) >= w.size {
		w.buf = append(w.buf[:0], p[len(p)-w.size:]...)
		return
	}
	if over := len(w.buf) + len(p) - w.size; over > 0 {
		w.buf = w.buf[:copy(w.buf, w.buf[over:])]
	}
	w.buf = append(w.buf, p...)
}
