package bench

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/klauspost/compress/flate"
)

// permessage-deflate (RFC 7692) on the client side.
//
// The client offers what Chromium offers (deflateOffer) and accepts the
// answers RFC 7692 §7.1 allows. A message from the server whose first
// frame has RSV1 set is inflated after appending 00 00 ff ff (§7.2.2) and
// an empty final block (so that the reader ends with io.EOF, as gorilla
// does); with context takeover the connection keeps the last
// 2^server_max_window_bits bytes it inflated as the next message's
// dictionary. Messages the client sends are compressed each on its own,
// which is valid whatever was negotiated.

// deflateOffer is the Sec-WebSocket-Extensions value the client sends:
// Chromium's offer.
const deflateOffer = "permessage-deflate; client_max_window_bits"

// deflateTail ends a compressed message for the reader: the 00 00 ff ff
// that the sender removed (RFC 7692 §7.2.2), then an empty final stored
// block.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// syncMarker is the empty stored block a sync flush ends with, which the
// sender removes (RFC 7692 §7.2.1).
var syncMarker = []byte{0x00, 0x00, 0xff, 0xff}

// sendLevel is the level of the compressed bodies the client sends: zlib's
// default, which browsers use.
const sendLevel = flate.DefaultCompression

// rsv1 is RSV1 in ws.Header.Rsv's layout: the message is compressed.
const rsv1 = 0b100

// deflateParams is a negotiated permessage-deflate (RFC 7692 §7.1).
type deflateParams struct {
	serverNoContext bool   // server_no_context_takeover: each server message inflates on its own
	clientNoContext bool   // client_no_context_takeover
	serverBits      int    // server_max_window_bits, 15 when absent
	clientBits      int    // client_max_window_bits, 15 when absent
	raw             string // the server's answer, for the report
}

// windowSize is the LZ77 window the server's messages may refer back to.
func (p *deflateParams) windowSize() int { return 1 << p.serverBits }

// parseDeflateResponse reads the Sec-WebSocket-Extensions values of a 101
// response. It returns nil when the server accepted no extension; an
// answer the client did not offer, or one RFC 7692 §7.1 does not allow,
// is an error (the client must fail the connection, RFC 6455 §4.1).
func parseDeflateResponse(values []string, offered bool) (*deflateParams, error) {
	var p *deflateParams
	for _, v := range values {
		for ext := range strings.SplitSeq(v, ",") {
			if strings.Trim(ext, " \t") == "" {
				continue
			}
			if !offered {
				return nil, extErr("extension %q answered, none offered", ext)
			}
			if p != nil {
				return nil, extErr("more than one extension answered: %q", strings.Join(values, ", "))
			}
			var err error
			if p, err = parseDeflateAnswer(ext); err != nil {
				return nil, err
			}
		}
	}
	if p != nil {
		p.raw = strings.Join(values, ", ")
	}
	return p, nil
}

// parseDeflateAnswer parses one extension of the answer, which must be
// permessage-deflate with the parameters of RFC 7692 §7.1, each at most
// once.
func parseDeflateAnswer(ext string) (*deflateParams, error) {
	parts := strings.Split(ext, ";")
	if name := strings.Trim(parts[0], " \t"); !strings.EqualFold(name, "permessage-deflate") {
		return nil, extErr("extension %q answered, only permessage-deflate offered", name)
	}
	p := &deflateParams{serverBits: 15, clientBits: 15}
	seen := map[string]bool{}
	for _, param := range parts[1:] {
		name, value, hasValue := strings.Cut(strings.Trim(param, " \t"), "=")
		name = strings.ToLower(strings.Trim(name, " \t"))
		value = strings.Trim(strings.Trim(value, " \t"), `"`)
		if seen[name] {
			return nil, extErr("%s twice in %q", name, ext)
		}
		seen[name] = true
		var err error
		switch name {
		case "server_no_context_takeover":
			p.serverNoContext, err = true, noValue(name, hasValue)
		case "client_no_context_takeover":
			p.clientNoContext, err = true, noValue(name, hasValue)
		case "server_max_window_bits":
			p.serverBits, err = windowBits(name, value, hasValue)
		case "client_max_window_bits":
			// Allowed only because the offer has client_max_window_bits.
			p.clientBits, err = windowBits(name, value, hasValue)
		default:
			err = extErr("unknown parameter %q in %q", name, ext)
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

func noValue(name string, hasValue bool) error {
	if hasValue {
		return extErr("%s takes no value", name)
	}
	return nil
}

// windowBits parses a *_max_window_bits value: 8 to 15, required in an
// answer (RFC 7692 §7.1.2).
func windowBits(name, value string, hasValue bool) (int, error) {
	n, err := strconv.Atoi(value)
	if !hasValue || err != nil || n < 8 || n > 15 || value != strconv.Itoa(n) {
		return 0, extErr("%s=%q: want 8 to 15", name, value)
	}
	return n, nil
}

func extErr(format string, args ...any) error {
	return &HandshakeError{Reason: "Sec-WebSocket-Extensions: " + fmt.Sprintf(format, args...)}
}

// inflater inflates a loop's compressed messages with one reused flate
// reader, and remembers what messages inflated to by their exact bytes.
// Loop only.
type inflater struct {
	fr   io.ReadCloser
	src  bytes.Reader
	in   []byte // the compressed message and deflateTail
	out  []byte // the last message inflated, valid until the next one
	memo memo
}

// inflate inflates one compressed message (its payload, without the tail)
// with dict as the window of earlier messages (nil without context
// takeover). More than limit bytes of output fail: a small message must
// not inflate into a huge one. The result is valid until the next call.
func (f *inflater) inflate(z, dict []byte, limit int) ([]byte, error) {
	f.in = append(append(f.in[:0], z...), deflateTail...)
	f.src.Reset(f.in)
	if f.fr == nil {
		f.fr = flate.NewReaderDict(&f.src, dict)
	} else if err := f.fr.(flate.Resetter).Reset(&f.src, dict); err != nil {
		return nil, err
	}
	out := f.out[:0]
	for {
		if len(out) == cap(out) {
			out = slices.Grow(out, min(max(cap(out), 4096), limit+1-len(out)))
		}
		n, err := f.fr.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if len(out) > limit {
			return nil, errInflatedTooBig
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadDeflate, err)
		}
	}
	f.out = out
	return out, nil
}

// memoBudget caps the bytes a loop's memo holds (compressed and inflated
// together) before it starts over.
const memoBudget = 8 << 20

// memo maps compressed messages (without context takeover, a function of
// their bytes alone) to what they inflated to. The servers compress a
// broadcast once and send every member the same bytes: inflating it once
// per loop, and comparing the bytes for every other member, keeps a client
// that plays thousands of browsers from being the bottleneck, and checks
// every copy exactly. Loop only.
type memo struct {
	seed    maphash.Seed
	entries map[uint64]memoEntry
	size    int
}

type memoEntry struct{ z, out []byte }

// get returns what z inflated to, if it is remembered.
func (m *memo) get(z []byte) ([]byte, bool) {
	if m.entries == nil {
		return nil, false
	}
	e, ok := m.entries[maphash.Bytes(m.seed, z)]
	if !ok || !bytes.Equal(e.z, z) {
		return nil, false
	}
	return e.out, true
}

// put remembers that z inflated to out (both copied) and returns the copy
// of out.
func (m *memo) put(z, out []byte) []byte {
	if m.entries == nil || m.size+len(z)+len(out) > memoBudget {
		if m.entries == nil {
			m.seed = maphash.MakeSeed()
		}
		m.entries, m.size = make(map[uint64]memoEntry), 0
	}
	e := memoEntry{z: bytes.Clone(z), out: bytes.Clone(out)}
	m.entries[maphash.Bytes(m.seed, z)] = e
	m.size += len(z) + len(out)
	return e.out
}

// slide appends p to the window w and keeps its last size bytes, in w's
// array when it has room.
func slide(w, p []byte, size int) []byte {
	if len(p) >= size {
		return append(w[:0], p[len(p)-size:]...)
	}
	if keep := size - len(p); len(w) > keep {
		w = w[:copy(w, w[len(w)-keep:])]
	}
	return append(w, p...)
}

// compressBody deflates body on its own (a fresh window of 2^bits bytes)
// with a sync flush and without the final 00 00 ff ff (RFC 7692 §7.2.1):
// what follows the stamp in a compressed message.
func compressBody(body []byte, bits int) ([]byte, error) {
	var buf bytes.Buffer
	var w *flate.Writer
	var err error
	if bits >= 15 {
		w, err = flate.NewWriter(&buf, sendLevel)
	} else {
		w, err = flate.NewWriterWindow(&buf, 1<<bits)
	}
	if err != nil {
		return nil, err
	}
	if _, err = w.Write(body); err != nil {
		return nil, err
	}
	if err = w.Flush(); err != nil {
		return nil, err
	}
	z, ok := bytes.CutSuffix(buf.Bytes(), syncMarker)
	if !ok {
		return nil, errors.New("bench: a deflate sync flush did not end with 00 00 ff ff")
	}
	return z, nil
}

// appendStored appends p as one non-final stored deflate block (RFC 1951
// §3.2.4): a byte-aligned header, LEN, NLEN, then p as it is. A compressed
// message starts with its stamp stored this way, so that the body after it
// can be compressed once and reused.
func appendStored(dst, p []byte) []byte {
	n := len(p) // < 65536: a stamp
	dst = append(dst, 0x00, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
	return append(dst, p...)
}
