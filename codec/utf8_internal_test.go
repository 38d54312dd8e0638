package codec

import (
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// dfaValid runs the DFA alone over p.
func dfaValid(p []byte) bool { return utf8Accept.step(p) == utf8Accept }

// streamValid validates p cut at the given points, as fragments.
func streamValid(p []byte, cuts ...int) bool {
	s, prev := utf8Accept, 0
	for _, c := range append(cuts, len(p)) {
		s = s.validate(p[prev:c])
		prev = c
	}
	return s == utf8Accept
}

// TestUTF8DFAExhaustive checks the DFA against utf8.Valid on every sequence
// of up to three bytes and on four-byte sequences around every boundary.
func TestUTF8DFAExhaustive(t *testing.T) {
	t.Parallel()
	var buf [4]byte
	for n := 1; n <= 3; n++ {
		for v := range 1 << (8 * n) {
			for i := range n {
				buf[i] = byte(v >> (8 * i))
			}
			checkUTF8(t, buf[:n])
		}
	}
	edges := []byte{0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff}
	for lead := range 256 {
		for b1 := range 256 {
			for _, b2 := range edges {
				for _, b3 := range edges {
					checkUTF8(t, []byte{byte(lead), byte(b1), b2, b3})
				}
			}
		}
	}
}

func checkUTF8(t *testing.T, p []byte) {
	want := utf8.Valid(p)
	if dfaValid(p) != want || streamValid(p) != want || streamValid(p, 1) != want {
		t.Fatalf(
			"% x: DFA %v, stream %v, split %v; utf8.Valid %v",
			p, dfaValid(p), streamValid(p), streamValid(p, 1), want,
		)
	}
}

// TestUTF8StreamRandom cuts random texts at random points.
func TestUTF8StreamRandom(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		p := randomText(r)
		cuts := randomCuts(r, len(p))
		if got, want := streamValid(p, cuts...), utf8.Valid(p); got != want {
			t.Fatalf(
				"% x cut at %v: %v; want %v",
				p, cuts, got, want,
			)
		}
	}
}

// randomText is mostly valid text with an occasional random byte.
func randomText(r *rand.Rand) []byte {
	var p []byte
	for range r.IntN(40) {
		switch r.IntN(10) {
		case 0:
			p = append(p, byte(r.IntN(256)))
		default:
			p = utf8.AppendRune(p, rune(r.IntN(0x110000)))
		}
	}
	return p
}

func randomCuts(r *rand.Rand, n int) []int {
	var cuts []int
	for c := 0; n > 0 && r.IntN(3) > 0; {
		c += r.IntN(n - c + 1)
		cuts = append(cuts, c)
	}
	return cuts
}

func FuzzValidateUTF8(f *testing.F) {
	f.Add([]byte("Hello-\xc2\xb5@\xc3\x9f"), uint8(7))
	f.Add([]byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"), uint8(3))
	f.Add([]byte("\xf4\x90\x80\x80"), uint8(1))
	f.Fuzz(func(t *testing.T, p []byte, cut uint8) {
		c := int(cut) % (len(p) + 1)
		if got, want := streamValid(p, c), utf8.Valid(p); got != want {
			t.Fatalf(
				"% x cut at %d: %v; want %v",
				p, c, got, want,
			)
		}
	})
}

// BenchmarkValidateUTF8 compares the validator on one 4 KiB fragment with
// utf8.Valid and with the DFA alone (why validate hands the bulk to
// utf8.Valid).
func BenchmarkValidateUTF8(b *testing.B) {
	texts := []struct {
		name string
		p    []byte
	}{
		{name: "ascii", p: repeatTo("The quick brown fox jumps over the lazy dog. ", 4096)},
		{name: "mixed", p: repeatTo("Hello-µ@ßöäüàá-UTF-8!! κόσμε 😀 ", 4096)},
		{name: "cjk", p: repeatTo("色は匂へど散りぬるを", 4096)},
	}
	for _, txt := range texts {
		run := func(name string, fn func([]byte) bool) {
			b.Run(txt.name+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(txt.p)))
				for b.Loop() {
					if !fn(txt.p) {
						b.Fatal("invalid")
					}
				}
			})
		}
		run("validate", func(p []byte) bool { return utf8Accept.validate(p) == utf8Accept })
		run("dfa", dfaValid)
		run("stdlib", utf8.Valid)
	}
}

func repeatTo(s string, n int) []byte {
	var p []byte
	for len(p)+len(s) <= n {
		p = append(p, s...)
	}
	return p
}
