package codec

import "unicode/utf8"

// Streaming UTF-8 validation for text messages that arrive in fragments
// (RFC 6455 §8.1: an endpoint fails the connection as soon as it sees an
// invalid sequence, which may straddle frames).
//
// The state between fragments is the state of Bjoern Hoehrmann's DFA
// (http://bjoern.hoehrmann.de/utf-8/decoder/dfa/), in its variant with state
// numbers pre-multiplied by 12. It rejects exactly what utf8.Valid rejects
// (overlong forms, surrogates, code points over U+10FFFF, 5- and 6-byte
// forms), but byte by byte, so a prefix such as "\xed\xa0" fails at once.
//
// The DFA costs a table lookup per byte (about 0.6 GB/s). The bulk of each
// fragment goes to utf8.Valid instead, about 1.4 GB/s on non-ASCII text and
// 40 GB/s on ASCII (BenchmarkValidateUTF8, Go 1.26, AMD EPYC); the DFA only
// carries the at most three bytes of a sequence split across frames.

// utf8State is the validator state between fragments.
type utf8State uint8

const (
	utf8Accept utf8State = 0  // between code points
	utf8Reject utf8State = 12 // invalid; stays there
)

// utf8Class maps a byte to its character class.
var utf8Class = [256]uint8{
	0x80: 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, // 80..8F
	9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, // 90..9F
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // A0..AF
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // B0..BF
	8, 8, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, // C0..CF
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, // D0..DF
	10, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 3, 3, // E0..EF
	11, 6, 6, 6, 5, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, // F0..FF
}

// utf8Next maps state+class to the next state.
var utf8Next = [108]utf8State{
	0, 12, 24, 36, 60, 96, 84, 12, 12, 12, 48, 72, // accept
	12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, // reject
	12, 0, 12, 12, 12, 12, 12, 0, 12, 0, 12, 12, // 1 continuation byte left
	12, 24, 12, 12, 12, 12, 12, 24, 12, 24, 12, 12, // 2 left
	12, 12, 12, 12, 12, 12, 12, 24, 12, 12, 12, 12, // after E0: A0..BF
	12, 24, 12, 12, 12, 12, 12, 12, 12, 24, 12, 12, // after ED: 80..9F
	12, 12, 12, 12, 12, 12, 12, 36, 12, 36, 12, 12, // after F0: 90..BF
	12, 36, 12, 12, 12, 12, 12, 36, 12, 36, 12, 12, // 3 left
	12, 36, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, // after F4: 80..8F
}

// step runs the DFA over p.
func (s utf8State) step(p []byte) utf8State {
	for _, c := range p {
		s = utf8Next[s+utf8State(utf8Class[c])]
		if s == utf8Reject {
			break
		}
	}
	return s
}

// validate continues validation from s over the next fragment p and returns
// the new state: utf8Reject as soon as p holds an invalid sequence.
func (s utf8State) validate(p []byte) utf8State {
	// Finish a sequence started in an earlier fragment.
	for len(p) > 0 && s != utf8Accept && s != utf8Reject {
		s = s.step(p[:1])
		p = p[1:]
	}
	if s != utf8Accept {
		return s
	}
	cut := completePrefix(p)
	if !utf8.Valid(p[:cut]) {
		return utf8Reject
	}
	return s.step(p[cut:])
}

// completePrefix returns the length of p without a trailing sequence that
// is cut short; such a tail is at most utf8.UTFMax-1 bytes.
func completePrefix(p []byte) int {
	for i := len(p) - 1; i >= 0 && i >= len(p)-(utf8.UTFMax-1); i-- {
		c := p[i]
		if c < 0x80 {
			return len(p)
		}
		if c < 0xc0 {
			continue // continuation byte: look further back
		}
		if len(p)-i < seqLen(c) {
			return i
		}
		return len(p)
	}
	return len(p)
}

// seqLen is the length of a sequence that starts with lead byte c (c >= 0xC0);
// 1 for bytes that never start one, so that the caller leaves them in place.
func seqLen(c byte) int {
	switch {
	case c >= 0xf8:
		return 1
	case c >= 0xf0:
		return 4
	case c >= 0xe0:
		return 3
	}
	return 2
}
