package codec_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"github.com/klauspost/compress/flate"

	"github.com/wshub/wshub/codec"
)

// TestNegotiateDeflate covers RFC 7692 §7.1's parameters, alone and
// together, offers with alternatives, and the offers a server must decline.
func TestNegotiateDeflate(t *testing.T) {
	t.Parallel()
	const (
		nct = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	)
	tests := []struct {
		name   string
		lines  []string
		cfg    codec.DeflateConfig
		ok     bool
		resp   string
		server uint8 // ServerWindowBits
		client uint8 // ClientWindowBits
	}{
		{name: "none offered", lines: nil},
		{name: "other extension only", lines: []string{"x-webkit-deflate-frame"}},
		{name: "bare offer", lines: []string{"permessage-deflate"}, ok: true, resp: nct, server: 15},
		{name: "Chromium's offer", lines: []string{"permessage-deflate; client_max_window_bits"}, ok: true, resp: nct, server: 15},
		{name: "client_no_context_takeover", lines: []string{"permessage-deflate; client_no_context_takeover"}, ok: true, resp: nct, server: 15},
		{name: "server_no_context_takeover", lines: []string{"permessage-deflate; server_no_context_takeover"}, ok: true, resp: nct, server: 15},
		{name: "server_max_window_bits=10 is echoed", lines: []string{"permessage-deflate; server_max_window_bits=10"}, ok: true,
			resp: nct + "; server_max_window_bits=10", server: 10},
		{name: "server_max_window_bits=8", lines: []string{"permessage-deflate; server_max_window_bits=8"}, ok: true,
			resp: nct + "; server_max_window_bits=8", server: 8},
		{name: "quoted value", lines: []string{`permessage-deflate; server_max_window_bits="12"`}, ok: true,
			resp: nct + "; server_max_window_bits=12", server: 12},
		{name: "client_max_window_bits=9", lines: []string{"permessage-deflate; client_max_window_bits=9"}, ok: true, resp: nct, server: 15},
		{name: "everything", lines: []string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=9"},
			ok: true, resp: nct + "; server_max_window_bits=9", server: 9},
		{name: "window bits out of range: next offer", lines: []string{"permessage-deflate; server_max_window_bits=7, permessage-deflate"},
			ok: true, resp: nct, server: 15},
		{name: "server_max_window_bits without value", lines: []string{"permessage-deflate; server_max_window_bits"}},
		{name: "server_max_window_bits=16", lines: []string{"permessage-deflate; server_max_window_bits=16"}},
		{name: "client_max_window_bits=abc", lines: []string{"permessage-deflate; client_max_window_bits=abc"}},
		{name: "unknown parameter", lines: []string{"permessage-deflate; foo=1"}},
		{name: "duplicate parameter", lines: []string{"permessage-deflate; client_no_context_takeover; client_no_context_takeover"}},
		{name: "duplicate valueless client_max_window_bits", lines: []string{"permessage-deflate; client_max_window_bits; client_max_window_bits"}},
		{name: "value on a flag", lines: []string{"permessage-deflate; server_no_context_takeover=1"}},
		{name: "second offer in a second line", lines: []string{"permessage-deflate; foo", "permessage-deflate; client_max_window_bits"},
			ok: true, resp: nct, server: 15},
		{name: "other extension first", lines: []string{"x-foo, permessage-deflate"}, ok: true, resp: nct, server: 15},
		{name: "malformed header", lines: []string{"permessage-deflate; ="}},

		// Client context takeover, when the server allows it.
		{name: "window: client bound without value", cfg: codec.DeflateConfig{ClientWindowBits: 12},
			lines: []string{"permessage-deflate; client_max_window_bits"}, ok: true,
			resp: "permessage-deflate; server_no_context_takeover; client_max_window_bits=12", server: 15, client: 12},
		{name: "window: client's smaller value wins", cfg: codec.DeflateConfig{ClientWindowBits: 12},
			lines: []string{"permessage-deflate; client_max_window_bits=10"}, ok: true,
			resp: "permessage-deflate; server_no_context_takeover; client_max_window_bits=10", server: 15, client: 10},
		{name: "window: server's smaller value wins", cfg: codec.DeflateConfig{ClientWindowBits: 9},
			lines: []string{"permessage-deflate; client_max_window_bits=14"}, ok: true,
			resp: "permessage-deflate; server_no_context_takeover; client_max_window_bits=9", server: 15, client: 9},
		{name: "window: no bound offered, 12 allowed: none", cfg: codec.DeflateConfig{ClientWindowBits: 12},
			lines: []string{"permessage-deflate"}, ok: true, resp: nct, server: 15},
		{name: "window: no bound offered, 15 allowed", cfg: codec.DeflateConfig{ClientWindowBits: 15},
			lines: []string{"permessage-deflate"}, ok: true, resp: "permessage-deflate; server_no_context_takeover", server: 15, client: 15},
		{name: "window: the client asks for none", cfg: codec.DeflateConfig{ClientWindowBits: 15},
			lines: []string{"permessage-deflate; client_no_context_takeover; client_max_window_bits"}, ok: true, resp: nct, server: 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, ok := codec.NegotiateDeflate(tt.lines, tt.cfg)
			if ok != tt.ok || d.Response != tt.resp || d.ServerWindowBits != tt.server || d.ClientWindowBits != tt.client {
				t.Fatalf("got %v %+v; want %v {server:%d client:%d %q}", ok, d, tt.ok, tt.server, tt.client, tt.resp)
			}
		})
	}
}

// jsonish is compressible text of about n bytes.
func jsonish(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	b.WriteString(`{"players":[`)
	for b.Len() < n {
		fmt.Fprintf(&b, `{"id":%d,"x":%.2f,"y":%.2f,"name":"p%d","state":"running"},`, r.IntN(1000), r.Float64()*100, r.Float64()*100, r.IntN(50))
	}
	return b.Bytes()[:n]
}

// clientDeflate compresses p as a client does with no context takeover:
// a sync flush, its 00 00 ff ff removed.
func clientDeflate(t testing.TB, w *flate.Writer, p []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if w == nil {
		w, _ = flate.NewWriter(&out, flate.BestSpeed)
	} else {
		w.Reset(&out)
	}
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(out.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// compressedFrames is a client's compressed message z, split into frames of
// at most fragment bytes (RSV1 on the first only).
func compressedFrames(op ws.OpCode, z []byte, fragment int) []byte {
	var wire []byte
	first := true
	for {
		n := min(len(z), fragment)
		h := ws.Header{Fin: n == len(z), OpCode: ws.OpContinuation, Masked: true, Mask: [4]byte{7, 1, 9, 3}}
		if first {
			h.OpCode, h.Rsv, first = op, ws.Rsv(true, false, false), false
		}
		wire = codec.AppendFrame(wire, h, z[:n])
		z = z[n:]
		if h.Fin {
			return wire
		}
	}
}

// decodeAll feeds wire to d in chunks of step bytes (0: all at once) and
// returns the messages.
func decodeAll(d *codec.Decoder, wire []byte, step int) ([]codec.Message, error) {
	if step <= 0 {
		step = len(wire) + 1
	}
	var msgs []codec.Message
	var buf []byte
	for off := 0; off < len(wire); off += step {
		buf = append(buf, wire[off:min(off+step, len(wire))]...)
		for {
			m, n, err := d.Decode(buf)
			if err != nil {
				return msgs, err
			}
			buf = buf[n:]
			if m.OpCode == 0 {
				break
			}
			m.Payload = bytes.Clone(m.Payload)
			msgs = append(msgs, m)
		}
	}
	return msgs, nil
}

// TestInflateRoundTrip: compressed messages of 0 B to 1 MiB, text and
// binary, whole and fragmented, fed at once and in pieces, inflate to what
// was sent.
func TestInflateRoundTrip(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 1, 125, 1000, 64 << 10, 1 << 20} {
		for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary} {
			for _, frag := range []int{1 << 30, 100, 7} {
				if size > 100<<10 && frag < 100 {
					continue
				}
				t.Run(fmt.Sprintf("%d/%v/frag%d", size, op, frag), func(t *testing.T) {
					t.Parallel()
					p := jsonish(size, uint64(size))
					wire := compressedFrames(op, clientDeflate(t, nil, p), frag)
					for _, step := range []int{0, 1000, 3} {
						if step == 3 && len(wire) > 20000 {
							continue
						}
						d := codec.Decoder{MaxMessage: 2 << 20}
						d.SetDeflate(0)
						msgs, err := decodeAll(&d, bytes.Clone(wire), step)
						if err != nil || len(msgs) != 1 || msgs[0].OpCode != op || !bytes.Equal(msgs[0].Payload, p) {
							t.Fatalf("step %d: %d messages, err %v", step, len(msgs), err)
						}
					}
				})
			}
		}
	}
}

// TestInflateContextTakeover: a client that keeps its compression context
// refers back to earlier messages; the decoder keeps its window and
// inflates them all, and uncompressed messages in between do not disturb
// it.
func TestInflateContextTakeover(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestSpeed)
	d := codec.Decoder{}
	d.SetDeflate(15)
	var wire []byte
	var sent [][]byte
	for i := range 20 {
		p := jsonish(3000, 7) // the same each time: later ones are back-references
		p = append(p, fmt.Sprint(i)...)
		out.Reset()
		_, _ = w.Write(p)
		_ = w.Flush()
		z := bytes.TrimSuffix(out.Bytes(), []byte{0, 0, 0xff, 0xff})
		if i > 0 && len(z) > 100 {
			t.Fatalf("message %d compressed to %d bytes: the context is not taken over", i, len(z))
		}
		wire = append(wire, compressedFrames(ws.OpText, z, 1<<30)...)
		sent = append(sent, p)
		if i%5 == 4 {
			plain := []byte("uncompressed in between")
			wire = codec.AppendFrame(wire, ws.Header{Fin: true, OpCode: ws.OpText, Masked: true}, plain)
			sent = append(sent, plain)
		}
	}
	msgs, err := decodeAll(&d, wire, 777)
	if err != nil || len(msgs) != len(sent) {
		t.Fatalf("%d messages of %d, err %v", len(msgs), len(sent), err)
	}
	for i := range sent {
		if !bytes.Equal(msgs[i].Payload, sent[i]) {
			t.Fatalf("message %d differs", i)
		}
	}
	// Without the window, the second message does not inflate.
	var fresh codec.Decoder
	fresh.SetDeflate(0)
	if _, err := decodeAll(&fresh, wire, 0); !errors.Is(err, codec.ErrBadDeflate) {
		t.Fatalf("without a window: %v; want ErrBadDeflate", err)
	}
}

// TestInflateViolations: what fails a compressed connection, and with
// which error.
func TestInflateViolations(t *testing.T) {
	t.Parallel()
	rsv1 := ws.Rsv(true, false, false)
	m := [4]byte{1, 2, 3, 4}
	good := clientDeflate(t, nil, []byte("hello, hello, hello"))
	badUTF8 := clientDeflate(t, nil, append(bytes.Repeat([]byte("ok "), 50), 0xff, 'x'))
	tests := []struct {
		name    string
		deflate bool
		wire    []byte
		want    error
	}{
		{name: "RSV1 not negotiated", wire: codec.AppendFrame(nil, ws.Header{Fin: true, Rsv: rsv1, OpCode: ws.OpText, Masked: true, Mask: m}, good),
			want: codec.ErrRsvSet},
		{name: "RSV1 on a ping", deflate: true, wire: codec.AppendFrame(nil, ws.Header{Fin: true, Rsv: rsv1, OpCode: ws.OpPing, Masked: true, Mask: m}, nil),
			want: codec.ErrRsv1Unexpected},
		{name: "RSV1 on a close", deflate: true, wire: codec.AppendFrame(nil, ws.Header{Fin: true, Rsv: rsv1, OpCode: ws.OpClose, Masked: true, Mask: m}, nil),
			want: codec.ErrRsv1Unexpected},
		{name: "RSV1 on a continuation", deflate: true, wire: codec.AppendFrame(
			codec.AppendFrame(nil, ws.Header{Rsv: rsv1, OpCode: ws.OpText, Masked: true, Mask: m}, good[:3]),
			ws.Header{Fin: true, Rsv: rsv1, OpCode: ws.OpContinuation, Masked: true, Mask: m}, good[3:]),
			want: codec.ErrRsv1Unexpected},
		{name: "RSV2 with deflate", deflate: true, wire: codec.AppendFrame(nil, ws.Header{Fin: true, Rsv: ws.Rsv(false, true, false), OpCode: ws.OpText, Masked: true, Mask: m}, good),
			want: codec.ErrRsvSet},
		{name: "not a deflate stream", deflate: true, wire: codec.AppendFrame(nil, ws.Header{Fin: true, Rsv: rsv1, OpCode: ws.OpBinary, Masked: true, Mask: m}, []byte{0xff, 0xff, 0xff}),
			want: codec.ErrBadDeflate},
		{name: "invalid UTF-8 inside", deflate: true, wire: compressedFrames(ws.OpText, badUTF8, 1<<30), want: codec.ErrInvalidUTF8},
		{name: "invalid UTF-8 inside, fragmented", deflate: true, wire: compressedFrames(ws.OpText, badUTF8, 5), want: codec.ErrInvalidUTF8},
		{name: "truncated UTF-8 at the end", deflate: true, wire: compressedFrames(ws.OpText, clientDeflate(t, nil, []byte("caf\xc3")), 1<<30),
			want: codec.ErrInvalidUTF8},
		{name: "empty compressed payload: an empty message", deflate: true, wire: codec.AppendFrame(nil, ws.Header{Fin: true, Rsv: rsv1, OpCode: ws.OpText, Masked: true, Mask: m}, nil)},
		{name: "binary may hold anything", deflate: true, wire: compressedFrames(ws.OpBinary, badUTF8, 1<<30)},
		{name: "uncompressed message with deflate on", deflate: true, wire: codec.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: m}, []byte("plain"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, step := range []int{0, 1} {
				var d codec.Decoder
				if tt.deflate {
					d.SetDeflate(0)
				}
				_, err := decodeAll(&d, bytes.Clone(tt.wire), step)
				if err != tt.want {
					t.Fatalf("step %d: %v; want %v", step, err, tt.want)
				}
			}
		})
	}
}

// TestDeflateBomb: a small compressed frame that inflates past the cap
// fails with 1009 once the cap is passed, having allocated about the cap,
// not what it would inflate to.
func TestDeflateBomb(t *testing.T) {
	const limit = 64 << 10
	z := clientDeflate(t, nil, make([]byte, 64<<20)) // 64 MiB of zeros
	if len(z) > 100<<10 {
		t.Fatalf("bomb is %d bytes", len(z))
	}
	wire := compressedFrames(ws.OpBinary, z, 1<<30)
	d := codec.Decoder{MaxMessage: limit}
	d.SetDeflate(0)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, err := d.Decode(wire)
	runtime.ReadMemStats(&after)
	if err != codec.ErrMessageTooBig || codec.CloseStatus(err) != ws.StatusMessageTooBig {
		t.Fatalf("err = %v; want ErrMessageTooBig (1009)", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4*limit+(256<<10) {
		t.Fatalf("allocated %d bytes for a %d-byte cap", grew, limit)
	}
	// Incompressible data at the cap inflates, though deflate made it a
	// little larger than the cap on the wire.
	random := make([]byte, limit)
	for i := range random {
		random[i] = byte(rand.Uint32())
	}
	z = clientDeflate(t, nil, random)
	if len(z) <= limit {
		t.Fatalf("random data compressed to %d bytes", len(z))
	}
	d = codec.Decoder{MaxMessage: limit}
	d.SetDeflate(0)
	if msgs, err := decodeAll(&d, compressedFrames(ws.OpBinary, z, 1<<30), 0); err != nil || len(msgs) != 1 {
		t.Fatalf("incompressible message at the cap, %d bytes compressed: %v", len(z), err)
	}
	// Just under the cap inflates.
	d = codec.Decoder{MaxMessage: limit}
	d.SetDeflate(0)
	msgs, err := decodeAll(&d, compressedFrames(ws.OpBinary, clientDeflate(t, nil, make([]byte, limit)), 1<<30), 0)
	if err != nil || len(msgs) != 1 || len(msgs[0].Payload) != limit {
		t.Fatalf("a message at the cap: %v", err)
	}
}

// TestUTF8FailFastInFrame: invalid UTF-8 in the part of a text frame that
// has arrived fails at once, before the rest of the frame is in (Autobahn
// 6.4.3 and 6.4.4); a valid start keeps waiting.
func TestUTF8FailFastInFrame(t *testing.T) {
	t.Parallel()
	payload := append(append([]byte("κόσμε valid start "), 0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xf4, 0x90, 0x80, 0x80), "-edited"...)
	bad := bytes.Index(payload, []byte{0xf4, 0x90})
	wire := codec.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: [4]byte{9, 8, 7, 6}}, payload)
	hsize := len(wire) - len(payload)
	var d codec.Decoder
	m, n, err := d.Decode(bytes.Clone(wire[:hsize+bad]))
	if err != nil || m.OpCode != 0 || n != hsize+bad {
		t.Fatalf("valid start: %v, %d consumed, %v", m.OpCode, n, err)
	}
	// F4 90 is already past U+10FFFF: no later byte can make it valid.
	_, _, err = d.Decode(bytes.Clone(wire[hsize+bad : hsize+bad+2]))
	if err != codec.ErrInvalidUTF8 {
		t.Fatalf("after the bad bytes: %v; want ErrInvalidUTF8 with %d bytes of the frame still to come", err, len(wire)-hsize-bad-2)
	}
}

// TestFrameDeflated: a frame's compressed form is built once, shared, only
// for data frames worth compressing, and inflates to the payload.
func TestFrameDeflated(t *testing.T) {
	t.Parallel()
	p := jsonish(1000, 3)
	f := codec.NewFrame(ws.OpText, p)
	defer f.Release()
	var wg sync.WaitGroup
	got := make([]*codec.Frame, 8)
	for i := range got {
		wg.Go(func() { got[i] = f.Deflated(codec.BestSpeed, 64) })
	}
	wg.Wait()
	for _, z := range got {
		if z == nil || z != got[0] {
			t.Fatal("Deflated built more than one frame, or none")
		}
	}
	z := got[0]
	if z.Len() >= f.Len()/2 {
		t.Fatalf("compressed %d bytes to %d", f.Len(), z.Len())
	}
	d := codec.Decoder{Client: true}
	d.SetDeflate(0)
	msgs, err := decodeAll(&d, bytes.Clone(z.Bytes()), 0)
	if err != nil || len(msgs) != 1 || msgs[0].OpCode != ws.OpText || !bytes.Equal(msgs[0].Payload, p) {
		t.Fatalf("inflating the shared frame: %v", err)
	}
	// A plain client decoder refuses the compressed frame: RSV1 is set.
	if _, err := decodeAll(&codec.Decoder{Client: true}, bytes.Clone(z.Bytes()), 0); err != codec.ErrRsvSet {
		t.Fatalf("RSV1 not set: %v", err)
	}

	small := codec.NewFrame(ws.OpText, []byte("hi there"))
	defer small.Release()
	ping := codec.NewFrame(ws.OpPing, p[:100])
	defer ping.Release()
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rand.Uint32())
	}
	noise := codec.NewFrame(ws.OpBinary, random)
	defer noise.Release()
	for name, fr := range map[string]*codec.Frame{"under min": small, "control": ping, "incompressible": noise} {
		if fr.Deflated(codec.BestSpeed, 64) != nil {
			t.Errorf("%s: compressed", name)
		}
	}
}

// BenchmarkDeflateFrame and BenchmarkInflate measure the chosen flate
// implementation on JSON-like text.
func BenchmarkDeflateFrame(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		p := jsonish(size, 1)
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				codec.DeflateFrame(ws.OpText, p, codec.BestSpeed).Release()
			}
		})
	}
}

func BenchmarkInflate(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		p := jsonish(size, 1)
		wire := compressedFrames(ws.OpText, clientDeflate(b, nil, p), 1<<30)
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			in := make([]byte, len(wire))
			d := codec.Decoder{}
			d.SetDeflate(0)
			for b.Loop() {
				copy(in, wire)
				if _, _, err := d.Decode(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzNegotiateDeflate: whatever a client offers, an accepted offer gets a
// response that parses as valid permessage-deflate parameters, says
// server_no_context_takeover, names client_max_window_bits only when the
// offer did, and agrees with the windows it reports.
func FuzzNegotiateDeflate(f *testing.F) {
	for _, s := range []string{"permessage-deflate", "permessage-deflate; client_max_window_bits",
		"permessage-deflate; server_max_window_bits=10; client_max_window_bits=9",
		`permessage-deflate; server_max_window_bits="8", permessage-deflate`, "x, permessage-deflate; foo",
		"permessage-deflate; client_no_context_takeover; server_no_context_takeover"} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(12))
	}
	f.Fuzz(func(t *testing.T, offer string, bits uint8) {
		d, ok := codec.NegotiateDeflate([]string{offer}, codec.DeflateConfig{ClientWindowBits: int(bits % 17)})
		if !ok {
			if d != (codec.Deflate{}) {
				t.Fatalf("declined with %+v", d)
			}
			return
		}
		opts, good := httphead.ParseOptions([]byte(d.Response), nil)
		if !good || len(opts) != 1 {
			t.Fatalf("response %q does not parse", d.Response)
		}
		var p wsflate.Parameters
		if err := p.Parse(opts[0]); err != nil || string(opts[0].Name) != "permessage-deflate" {
			t.Fatalf("response %q: %v", d.Response, err)
		}
		if !p.ServerNoContextTakeover || d.ServerWindowBits < 8 || d.ServerWindowBits > 15 {
			t.Fatalf("response %q, %+v", d.Response, d)
		}
		if (d.ClientWindowBits == 0) != p.ClientNoContextTakeover {
			t.Fatalf("response %q but client window %d", d.Response, d.ClientWindowBits)
		}
		if p.ClientMaxWindowBits.Defined() && !strings.Contains(offer, "client_max_window_bits") {
			t.Fatalf("response %q names client_max_window_bits, the offer %q did not", d.Response, offer)
		}
	})
}

// FuzzInflate: with permessage-deflate on, any input decodes to the same
// outcome whole, split in two and byte by byte, and no message passes the
// cap, however it inflates.
func FuzzInflate(f *testing.F) {
	var zw *flate.Writer
	for i, p := range [][]byte{[]byte("hello"), jsonish(3000, 1), make([]byte, 5000), []byte("caf\xc3\xa9 \xff")} {
		z := clientDeflate(f, zw, p)
		f.Add(compressedFrames(ws.OpText, z, 1<<30), uint16(i*7), uint16(1000), i%2 == 0)
		f.Add(compressedFrames(ws.OpBinary, z, 9), uint16(i*3), uint16(4096), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16, max uint16, window bool) {
		decoder := func() *codec.Decoder {
			d := &codec.Decoder{MaxMessage: int64(max)}
			if window {
				d.SetDeflate(15)
			} else {
				d.SetDeflate(0)
			}
			return d
		}
		whole := feed(t, decoder(), bytes.Clone(data))
		for _, m := range whole.msgs {
			if limit := int64(max); limit > 0 && int64(len(m.Payload)) > limit {
				t.Fatalf("a %d-byte message passed the %d-byte cap", len(m.Payload), limit)
			}
		}
		sameWhenSplit(t, decoder, data, split, whole)
	})
}

// TestInflateNoCap: a cap of MaxInt64 (no cap, in effect) still takes
// compressed messages: the wire allowance above the cap saturates.
func TestInflateNoCap(t *testing.T) {
	t.Parallel()
	for _, limit := range []int64{math.MaxInt64, math.MaxInt64 - 1000, math.MaxInt64 / 2} {
		d := codec.Decoder{MaxMessage: limit}
		d.SetDeflate(0)
		msgs, err := decodeAll(&d, compressedFrames(ws.OpText, clientDeflate(t, nil, []byte("hello")), 2), 0)
		if err != nil || len(msgs) != 1 || string(msgs[0].Payload) != "hello" {
			t.Fatalf("cap %d: %v", limit, err)
		}
	}
}
