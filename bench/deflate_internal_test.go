package bench

import (
	"bytes"
	"compress/flate" // the reference: the standard library's, not the client's
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/codec"
)

func TestParseDeflateResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		values  []string
		offered bool
		want    *deflateParams // nil with ok: nothing negotiated
		ok      bool
	}{
		{name: "nothing answered", offered: true, ok: true},
		{name: "nothing offered, nothing answered", ok: true},
		{name: "bare", values: []string{"permessage-deflate"}, offered: true, ok: true,
			want: &deflateParams{serverBits: 15, clientBits: 15}},
		{name: "gorilla's answer", values: []string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover"}, offered: true, ok: true,
			want: &deflateParams{serverNoContext: true, clientNoContext: true, serverBits: 15, clientBits: 15}},
		{name: "window bits, odd spacing and case", values: []string{"Permessage-Deflate;server_max_window_bits=10 ;\tCLIENT_MAX_WINDOW_BITS=9"}, offered: true, ok: true,
			want: &deflateParams{serverBits: 10, clientBits: 9}},
		{name: "quoted value", values: []string{`permessage-deflate; client_max_window_bits="12"`}, offered: true, ok: true,
			want: &deflateParams{serverBits: 15, clientBits: 12}},
		{name: "answered unasked", values: []string{"permessage-deflate"}},
		{name: "another extension", values: []string{"x-webkit-deflate-frame"}, offered: true},
		{name: "two answers on one line", values: []string{"permessage-deflate, permessage-deflate"}, offered: true},
		{name: "two answers on two lines", values: []string{"permessage-deflate", "permessage-deflate"}, offered: true},
		{name: "unknown parameter", values: []string{"permessage-deflate; mystery"}, offered: true},
		{name: "duplicate parameter", values: []string{"permessage-deflate; server_no_context_takeover; server_no_context_takeover"}, offered: true},
		{name: "value on a flag", values: []string{"permessage-deflate; client_no_context_takeover=1"}, offered: true},
		{name: "window bits without value", values: []string{"permessage-deflate; server_max_window_bits"}, offered: true},
		{name: "window bits 7", values: []string{"permessage-deflate; server_max_window_bits=7"}, offered: true},
		{name: "window bits 16", values: []string{"permessage-deflate; client_max_window_bits=16"}, offered: true},
		{name: "window bits with a leading zero", values: []string{"permessage-deflate; client_max_window_bits=09"}, offered: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDeflateResponse(tt.values, tt.offered)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			var he *HandshakeError
			if err != nil && !errors.As(err, &he) {
				t.Errorf("err %T is not a *HandshakeError", err)
			}
			if got != nil {
				got.raw = ""
			}
			if tt.want == nil && got != nil || tt.want != nil && (got == nil || *got != *tt.want) {
				t.Errorf("params = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckUpgradeResponseExtensions(t *testing.T) {
	t.Parallel()
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	head := "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover"
	z, err := checkUpgradeResponse([]byte(head), key, true)
	if err != nil || z == nil || !z.serverNoContext || z.raw != "permessage-deflate; server_no_context_takeover" {
		t.Errorf("offered: %+v, %v; want server_no_context_takeover", z, err)
	}
	var he *HandshakeError
	if _, err := checkUpgradeResponse([]byte(head), key, false); !errors.As(err, &he) || !strings.HasPrefix(he.Status, "HTTP/1.1 101") {
		t.Errorf("not offered: err = %v, want a HandshakeError with the status", err)
	}
}

// refDeflate compresses msgs as a server does, with the standard library:
// each message flushed and stripped of 00 00 ff ff; one context for all of
// them when takeover is set, else a fresh one each.
func refDeflate(t *testing.T, takeover bool, msgs ...[]byte) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression) // BestSpeed finds no match in tiny messages
	var out [][]byte
	for _, m := range msgs {
		if !takeover {
			w.Reset(&buf)
		}
		buf.Reset()
		if _, err := w.Write(m); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		z, ok := bytes.CutSuffix(buf.Bytes(), syncMarker)
		if !ok {
			t.Fatal("no sync marker")
		}
		out = append(out, bytes.Clone(z))
	}
	return out
}

// refInflate inflates a compressed message with the standard library.
func refInflate(t *testing.T, z []byte) []byte {
	t.Helper()
	b, err := io.ReadAll(flate.NewReader(bytes.NewReader(append(bytes.Clone(z), deflateTail...))))
	if err != nil {
		t.Fatalf("reference inflate: %v", err)
	}
	return b
}

// serverFrame encodes an unmasked frame with the given FIN, RSV and opcode.
func serverFrame(fin bool, rsv byte, op ws.OpCode, payload []byte) []byte {
	return codec.AppendFrame(nil, ws.Header{Fin: fin, Rsv: rsv, OpCode: op}, payload)
}

var (
	hello    = []byte(`{"text":"hello, hello, hello, compressed world"}`)
	helloZ   = func(t *testing.T) []byte { return refDeflate(t, false, hello)[0] }
	noTakeov = deflateParams{serverNoContext: true, clientNoContext: true, serverBits: 15, clientBits: 15}
)

// decodeAll decodes b whole with a fresh zreader and returns the messages
// and the first error.
func decodeAll(p deflateParams, b []byte) ([]zmsg, error) {
	z := &zreader{params: p, share: true}
	var f inflater
	var out []zmsg
	for len(b) > 0 {
		m, n, err := z.decode(b, &f)
		if err != nil {
			return out, err
		}
		if m.OpCode == 0 {
			break
		}
		m.Payload = bytes.Clone(m.Payload)
		out = append(out, m)
		b = b[n:]
	}
	return out, nil
}

func TestZReader(t *testing.T) {
	t.Parallel()
	z := helloZ(t)
	bomb := refDeflate(t, false, make([]byte, maxClientMessage+1))[0]
	var final bytes.Buffer // a message that ends with a final block, not a sync flush
	fw, _ := flate.NewWriter(&final, flate.BestSpeed)
	_, _ = fw.Write(hello)
	_ = fw.Close()
	badUTF8 := refDeflate(t, false, []byte{'a', 0xff, 'b'})[0]
	big := make([]byte, 300<<10) // three fit the 1 MiB cap, four do not
	// A fragmented message small enough that its buffer is kept, then a
	// frame that fits the cap alone but not with the kept buffer.
	small, nearCap := make([]byte, 20<<10), make([]byte, maxClientMessage-30<<10)
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	tests := []struct {
		name       string
		wire       []byte
		want       []string // payloads of the messages, in order
		compressed []bool
		err        error
	}{
		{name: "uncompressed text", wire: serverFrame(true, 0, ws.OpText, hello), want: []string{string(hello)}, compressed: []bool{false}},
		{name: "compressed text", wire: serverFrame(true, rsv1, ws.OpText, z), want: []string{string(hello)}, compressed: []bool{true}},
		{name: "compressed binary", wire: serverFrame(true, rsv1, ws.OpBinary, z), want: []string{string(hello)}, compressed: []bool{true}},
		{name: "compressed in three fragments, RSV1 on the first",
			wire: cat(serverFrame(false, rsv1, ws.OpText, z[:3]), serverFrame(false, 0, ws.OpContinuation, z[3:7]), serverFrame(true, 0, ws.OpContinuation, z[7:])),
			want: []string{string(hello)}, compressed: []bool{true}},
		{name: "ping between fragments",
			wire: cat(serverFrame(false, rsv1, ws.OpText, z[:5]), serverFrame(true, 0, ws.OpPing, []byte("p")), serverFrame(true, 0, ws.OpContinuation, z[5:])),
			want: []string{"p", string(hello)}, compressed: []bool{false, true}},
		{name: "plain then compressed", wire: cat(serverFrame(true, 0, ws.OpBinary, []byte("abc")), serverFrame(true, rsv1, ws.OpText, z)),
			want: []string{"abc", string(hello)}, compressed: []bool{false, true}},
		{name: "ends with a final block", wire: serverFrame(true, rsv1, ws.OpText, final.Bytes()), want: []string{string(hello)}, compressed: []bool{true}},
		{name: "close with code", wire: serverFrame(true, 0, ws.OpClose, []byte{0x03, 0xe8, 'b', 'y', 'e'}), want: []string{"\x03\xe8bye"}, compressed: []bool{false}},
		{name: "RSV1 on a continuation", wire: cat(serverFrame(false, rsv1, ws.OpText, z[:3]), serverFrame(true, rsv1, ws.OpContinuation, z[3:])), err: errRsvBits},
		{name: "RSV1 on a ping", wire: serverFrame(true, rsv1, ws.OpPing, nil), err: errRsvBits},
		{name: "RSV2", wire: serverFrame(true, 0b010, ws.OpText, hello), err: errRsvBits},
		{name: "RSV3", wire: serverFrame(true, 0b001, ws.OpBinary, hello), err: errRsvBits},
		{name: "masked", wire: codec.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}}, hello), err: errMaskedFrame},
		{name: "continuation without a message", wire: serverFrame(true, 0, ws.OpContinuation, hello), err: errBadContinue},
		{name: "data frame inside a message", wire: cat(serverFrame(false, 0, ws.OpText, hello), serverFrame(true, 0, ws.OpText, hello)), err: errBadContinue},
		{name: "reserved opcode", wire: serverFrame(true, 0, 0x3, nil), err: errReservedOpCode},
		{name: "fragmented ping", wire: serverFrame(false, 0, ws.OpPing, nil), err: errBadControl},
		{name: "not deflate", wire: serverFrame(true, rsv1, ws.OpBinary, []byte{0xff, 0xff, 0xff}), err: errBadDeflate},
		{name: "inflates to invalid UTF-8 text", wire: serverFrame(true, rsv1, ws.OpText, badUTF8), err: errBadUTF8},
		{name: "inflates past the cap", wire: serverFrame(true, rsv1, ws.OpBinary, bomb), err: errInflatedTooBig},
		{name: "a large message after a fragmented one",
			wire: cat(serverFrame(false, 0, ws.OpBinary, small), serverFrame(true, 0, ws.OpContinuation, small), serverFrame(true, 0, ws.OpBinary, nearCap)),
			want: []string{string(cat(small, small)), string(nearCap)}, compressed: []bool{false, false}},
		{name: "fragments past the cap",
			wire: cat(serverFrame(false, 0, ws.OpBinary, big), serverFrame(false, 0, ws.OpContinuation, big), serverFrame(false, 0, ws.OpContinuation, big), serverFrame(true, 0, ws.OpContinuation, big)),
			err:  errTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeAll(noTakeov, tt.wire)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d messages, want %d", len(got), len(tt.want))
			}
			for i, m := range got {
				if string(m.Payload) != tt.want[i] || m.compressed != tt.compressed[i] {
					t.Errorf("message %d = %q (compressed %v), want %q (%v)", i, m.Payload, m.compressed, tt.want[i], tt.compressed[i])
				}
			}
		})
	}
}

// TestZReaderContextTakeover: a server that keeps its context refers to
// earlier messages, which only the connection's window can resolve.
func TestZReaderContextTakeover(t *testing.T) {
	t.Parallel()
	msgs := [][]byte{hello, hello, append(bytes.Clone(hello), hello...)}
	zs := refDeflate(t, true, msgs...)
	if len(zs[1]) >= len(zs[0]) {
		t.Fatalf("the second message (%d B) does not refer to the first (%d B)", len(zs[1]), len(zs[0]))
	}
	var wire []byte
	for _, z := range zs {
		wire = append(wire, serverFrame(true, rsv1, ws.OpText, z)...)
	}
	got, err := decodeAll(deflateParams{serverBits: 15, clientBits: 15}, wire)
	if err != nil || len(got) != len(msgs) {
		t.Fatalf("with the window: %d messages, %v", len(got), err)
	}
	for i, m := range got {
		if !bytes.Equal(m.Payload, msgs[i]) {
			t.Errorf("message %d = %q, want %q", i, m.Payload, msgs[i])
		}
	}
	// Without the window (what server_no_context_takeover means) the
	// second message cannot be read.
	if got, err := decodeAll(noTakeov, wire); err == nil && len(got) == len(msgs) && bytes.Equal(got[1].Payload, msgs[1]) {
		t.Error("without the window the second message still inflated: the test shows nothing")
	}
}

// TestZReaderSplitAnywhere feeds compressed, fragmented and control frames
// in pieces of every size, as a socket delivers them, and keeps what
// decode did not consume, as OnTraffic does.
func TestZReaderSplitAnywhere(t *testing.T) {
	t.Parallel()
	msgs := [][]byte{hello, AppendJSONBody(nil, 30_000, 1), []byte("tiny")}
	zs := refDeflate(t, false, msgs...)
	var wire []byte
	wire = append(wire, serverFrame(true, rsv1, ws.OpText, zs[0])...)
	half := len(zs[1]) / 2
	wire = append(wire, serverFrame(false, rsv1, ws.OpBinary, zs[1][:half])...)
	wire = append(wire, serverFrame(true, 0, ws.OpPing, []byte("ping"))...)
	wire = append(wire, serverFrame(true, 0, ws.OpContinuation, zs[1][half:])...)
	wire = append(wire, serverFrame(true, 0, ws.OpText, msgs[2])...)
	want := []string{string(msgs[0]), "ping", string(msgs[1]), string(msgs[2])}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		z := &zreader{params: noTakeov, share: true}
		var f inflater
		var buf, rest []byte
		var got []string
		for rest = wire; len(rest) > 0 || len(buf) > 0; {
			k := min(len(rest), 1+rng.IntN(64))
			if round == 0 {
				k = min(len(rest), 1)
			}
			buf, rest = append(buf, rest[:k]...), rest[k:]
			for {
				m, n, err := z.decode(buf, &f)
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				buf = buf[n:]
				if m.OpCode == 0 {
					break
				}
				got = append(got, string(m.Payload))
			}
			if len(rest) == 0 && len(buf) > 0 {
				t.Fatalf("round %d: %d bytes left undecoded", round, len(buf))
			}
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("round %d: got %d messages, want %d (or their bytes differ)", round, len(got), len(want))
		}
	}
}

func TestMemo(t *testing.T) {
	t.Parallel()
	zs := refDeflate(t, false, hello, []byte("other"))
	wire := bytes.Join([][]byte{
		serverFrame(true, rsv1, ws.OpText, zs[0]),
		serverFrame(true, rsv1, ws.OpText, zs[0]),
		serverFrame(true, rsv1, ws.OpText, zs[1]),
	}, nil)
	got, err := decodeAll(noTakeov, wire)
	if err != nil || len(got) != 3 {
		t.Fatalf("%d messages, %v", len(got), err)
	}
	if got[0].memo || !got[1].memo || got[2].memo {
		t.Errorf("memo = %v %v %v, want false true false", got[0].memo, got[1].memo, got[2].memo)
	}
	if !bytes.Equal(got[1].Payload, hello) || string(got[2].Payload) != "other" {
		t.Errorf("payloads %q, %q", got[1].Payload, got[2].Payload)
	}
	// A connection whose messages no other member gets (echo) leaves the
	// memo alone.
	z, f := &zreader{params: noTakeov}, new(inflater)
	for i := range 2 {
		m, _, err := z.decode(serverFrame(true, rsv1, ws.OpText, zs[0]), f)
		if err != nil || m.memo || !bytes.Equal(m.Payload, hello) || f.memo.entries != nil {
			t.Errorf("unshared, message %d: %q, memo %v, %v; want it inflated, no memo", i, m.Payload, m.memo, err)
		}
	}
	// A message that only starts like a remembered one misses.
	var m memo
	m.put(zs[0], hello)
	if _, ok := m.get(append(bytes.Clone(zs[0]), 0)); ok {
		t.Error("a longer message hit the memo")
	}
}

func TestSlide(t *testing.T) {
	t.Parallel()
	tests := []struct {
		w, p string
		size int
		want string
	}{
		{"", "abc", 8, "abc"},
		{"abc", "de", 8, "abcde"},
		{"abcdef", "ghij", 8, "cdefghij"},
		{"abc", "0123456789", 8, "23456789"},
		{"abcdefgh", "", 8, "abcdefgh"},
	}
	for _, tt := range tests {
		w := append(make([]byte, 0, 16), tt.w...)
		if got := string(slide(w, []byte(tt.p), tt.size)); got != tt.want {
			t.Errorf("slide(%q, %q, %d) = %q, want %q", tt.w, tt.p, tt.size, got, tt.want)
		}
	}
}

// TestCompressedMessageInflates: what the client sends compressed (the
// stamp in a stored block, then the body compressed once) inflates, with
// the standard library, to exactly the uncompressed message.
func TestCompressedMessageInflates(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		kind string
		size int
		bits int
	}{
		{PayloadJSON, 1024, 15}, {PayloadJSON, 64 << 10, 15}, {PayloadJSON, 64 << 10, 9},
		{PayloadJSON, minJSONSize, 15}, {PayloadBinary, 64, 15}, {PayloadBinary, StampLen, 8},
	} {
		ps := newPayloads(tt.kind, tt.size)
		for seq := range uint64(3) {
			st := Stamp{Sent: 1_764_000_000_123_456_789, Seq: seq, Publisher: 7}
			z, err := ps.appendCompressed(nil, st, tt.bits)
			if err != nil {
				t.Fatal(err)
			}
			plain := ps.appendPlain(nil, st)
			if got := refInflate(t, z); !bytes.Equal(got, plain) || len(plain) != tt.size {
				t.Errorf("%s %d B, window 2^%d, seq %d: inflates to %d B, want the %d B message", tt.kind, tt.size, tt.bits, seq, len(got), len(plain))
			}
			if got, err := ps.readStamp(plain); err != nil || got != st {
				t.Errorf("%s: stamp %+v, %v; want %+v", tt.kind, got, err, st)
			}
		}
	}
}

// TestCompressBodyWindow: with client_max_window_bits=N the body is
// compressed with a 2^N-byte window: it still inflates to itself, and
// compresses worse than with the full 32 KiB.
func TestCompressBodyWindow(t *testing.T) {
	t.Parallel()
	body := AppendJSONBody(nil, 32<<10, 1)
	z, err := compressBody(body, 9)
	if err != nil {
		t.Fatal(err)
	}
	if got := refInflate(t, z); !bytes.Equal(got, body) {
		t.Fatal("window 2^9: the body does not inflate to itself")
	}
	full, _ := compressBody(body, 15)
	if len(full) >= len(z) {
		t.Errorf("a 32 KiB window (%d B) compresses no better than 512 B (%d B): is the window applied?", len(full), len(z))
	}
}
