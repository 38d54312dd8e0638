package codec_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/gobwas/ws"
	"github.com/wshub/wshub/codec"
)

// outcome is what decoding a stream gave.
type outcome struct {
	msgs []codec.Message
	code ws.StatusCode // of the error; 0: none
	left int           // bytes never consumed
}

// feed decodes the chunks as an event loop would: append each to the
// inbound buffer, call Decode until it needs more, discard what it consumed.
func feed(t testing.TB, d *codec.Decoder, chunks ...[]byte) outcome {
	var out outcome
	var buf []byte
	for _, c := range chunks {
		buf = append(buf, c...)
		var err error
		buf, err = drain(t, d, buf, &out)
		if err != nil {
			out.code = codec.CloseStatus(err)
			return out
		}
	}
	out.left = len(buf)
	return out
}

// drain decodes buf until need more or an error, returning the unconsumed
// rest.
func drain(t testing.TB, d *codec.Decoder, buf []byte, out *outcome) ([]byte, error) {
	for {
		m, n, err := d.Decode(buf)
		if n < 0 || n > len(buf) {
			t.Fatalf("Decode consumed %d of %d bytes", n, len(buf))
		}
		buf = buf[n:]
		if err != nil {
			checkSticky(t, d, err)
			return buf, err
		}
		if m.OpCode == 0 {
			return buf, nil
		}
		m.Payload = slices.Clone(m.Payload) // valid until the next Decode only
		out.msgs = append(out.msgs, m)
	}
}

// checkSticky checks err is one of the package's and that Decode keeps
// returning it.
func checkSticky(t testing.TB, d *codec.Decoder, err error) {
	var pe *codec.ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("Decode error %v is not a *codec.ProtocolError", err)
	}
	m, n, again := d.Decode([]byte{0x81, 0x80, 0, 0, 0, 0})
	if again != err || n != 0 || m.OpCode != 0 {
		t.Fatalf(
			"Decode after error = %v, %d, %v; want nothing and the same error",
			m.OpCode, n, again,
		)
	}
}

func (g golden) decoder() *codec.Decoder {
	return &codec.Decoder{Client: g.client, MaxMessage: g.max}
}

func (g golden) check(t *testing.T, how string, got outcome) {
	t.Helper()
	want := outcome{msgs: g.want, code: g.code, left: g.left}
	if got.code != want.code || got.left != want.left {
		t.Fatalf(
			"%s: close code %d, %d bytes left; want %d, %d",
			how, got.code, got.left, want.code, want.left,
		)
	}
	if !slices.EqualFunc(got.msgs, want.msgs, sameMessage) {
		t.Fatalf(
			"%s: messages\n%s\nwant\n%s",
			how, describe(got.msgs), describe(want.msgs),
		)
	}
}

func describe(msgs []codec.Message) string {
	s := ""
	for _, m := range msgs {
		p := m.Payload
		if len(p) > 40 {
			p = p[:40]
		}
		s += fmt.Sprintf(
			"\t%v len=%d %q code=%d reason=%q\n",
			m.OpCode, len(m.Payload), p, m.CloseCode, m.CloseReason,
		)
	}
	return s
}

func TestDecodeGolden(t *testing.T) {
	t.Parallel()
	for _, g := range goldenTable {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.check(t, "in one read", feed(t, g.decoder(), g.wire()))
		})
	}
}

// TestDecodeGoldenByteByByte feeds every row one byte at a time: every
// prefix must say need more until a frame is complete, and never fail
// differently.
func TestDecodeGoldenByteByByte(t *testing.T) {
	t.Parallel()
	for _, g := range goldenTable {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			wire := g.wire()
			chunks := make([][]byte, len(wire))
			for i := range wire {
				chunks[i] = wire[i : i+1]
			}
			g.check(t, "byte by byte", feed(t, g.decoder(), chunks...))
		})
	}
}

// TestDecodeGoldenSplit splits every row in two reads at every point (at
// points near the frame boundaries for the long rows).
func TestDecodeGoldenSplit(t *testing.T) {
	t.Parallel()
	for _, g := range goldenTable {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			n := len(g.wire())
			for k := 0; k <= n; k = nextSplit(k, n) {
				wire := g.wire()
				g.check(t, fmt.Sprintf("split at %d", k), feed(t, g.decoder(), wire[:k], wire[k:]))
			}
		})
	}
}

// nextSplit steps through all of the first and last 300 bytes and through
// the middle in strides.
func nextSplit(k, n int) int {
	if k < 300 || k >= n-300 {
		return k + 1
	}
	return min(k+997, n-300)
}
