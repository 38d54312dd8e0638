package codec_test

import (
	"testing"
	"unicode/utf8"

	"github.com/wshub/wshub/codec"
)

// TestUTF8FailFast sends every invalid sample of the golden table one byte
// per fragment and expects the connection to fail on the fragment that makes
// the text impossible to complete (RFC 6455 §8.1), not at the end.
func TestUTF8FailFast(t *testing.T) {
	t.Parallel()
	for _, s := range utf8Samples {
		if s.valid {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			want := firstDeadEnd(s.text)
			got := failingFragment(t, s.text)
			if got != want {
				t.Fatalf(
					"failed on fragment %d; want %d",
					got, want,
				)
			}
		})
	}
}

// failingFragment feeds text as one-byte fragments and returns the index of
// the fragment on which Decode fails, or -1.
func failingFragment(t *testing.T, text string) int {
	var d codec.Decoder
	for i, f := range byteFragments(text) {
		out := feed(t, &d, f.wire(true))
		if out.code != 0 {
			return i
		}
	}
	return -1
}

// firstDeadEnd returns the index of the first byte after which no bytes can
// make text valid UTF-8, or its last index if it is only cut short.
func firstDeadEnd(text string) int {
	for i := 1; i <= len(text); i++ {
		if !completable([]byte(text[:i])) {
			return i - 1
		}
	}
	return len(text) - 1
}

// completable reports whether some continuation bytes (up to three, of
// each range a lead byte may require) make p valid.
func completable(p []byte) bool {
	conts := []byte{0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf}
	var try func(p []byte, depth int) bool
	try = func(p []byte, depth int) bool {
		if utf8.Valid(p) {
			return true
		}
		for _, c := range conts {
			if depth > 0 && try(append(p[:len(p):len(p)], c), depth-1) {
				return true
			}
		}
		return false
	}
	return try(p, 3)
}
