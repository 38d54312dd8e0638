package codec_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/wshub/wshub/codec"
)

// goldenFrames calls fn for every frame of the golden table that the
// shortest-form encoders can produce, with whether it is masked.
func goldenFrames(fn func(name string, f fr, masked bool)) {
	for _, g := range goldenTable {
		for _, f := range g.frames {
			if f.declare == 0 && f.form == 0 {
				fn(g.name, f, !g.client != f.flipMask)
			}
		}
	}
}

// TestAppendFrameGolden encodes every golden frame, valid or not, and
// expects the table's bytes.
func TestAppendFrameGolden(t *testing.T) {
	t.Parallel()
	goldenFrames(func(name string, f fr, masked bool) {
		payload := []byte(f.payload)
		prefix := []byte("prefix")
		got := codec.AppendFrame(prefix, f.header(masked), payload)
		want := append([]byte("prefix"), f.wire(masked)...)
		if !bytes.Equal(got, want) {
			t.Errorf(
				"%s: AppendFrame = % x\nwant % x",
				name, trim(got), trim(want),
			)
		}
		if string(payload) != f.payload {
			t.Errorf(
				"%s: AppendFrame modified the payload",
				name,
			)
		}
	})
}

// TestNewFrameGolden builds every golden frame a server may send and
// expects the table's bytes, then decodes them as a client.
func TestNewFrameGolden(t *testing.T) {
	t.Parallel()
	goldenFrames(func(name string, f fr, masked bool) {
		if masked || !f.fin || f.rsv != 0 || !serverMaySend(f) {
			return
		}
		frame := codec.NewFrame(f.op, []byte(f.payload))
		defer frame.Release()
		want := f.wire(false)
		if !bytes.Equal(frame.Bytes(), want) || frame.Len() != len(want) {
			t.Errorf(
				"%s: NewFrame = % x (Len %d)\nwant % x",
				name, trim(frame.Bytes()), frame.Len(), trim(want),
			)
		}
		got := feed(t, &codec.Decoder{Client: true}, bytes.Clone(frame.Bytes()))
		if got.code != 0 || len(got.msgs) != 1 || string(got.msgs[0].Payload) != f.payload {
			t.Errorf(
				"%s: decoding NewFrame gave %+v",
				name, got,
			)
		}
	})
}

// serverMaySend: a frame NewFrame builds and a client accepts.
func serverMaySend(f fr) bool {
	switch f.op {
	case ws.OpBinary, ws.OpPing, ws.OpPong:
		return len(f.payload) <= 125 || f.op == ws.OpBinary
	case ws.OpText:
		return utf8.ValidString(f.payload)
	}
	return false
}

func trim(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}

func TestNewCloseFrame(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		code       ws.StatusCode
		reason     string
		wantReason string // as decoded; the frame has no body when wantCode is 1005
		wantCode   ws.StatusCode
	}{
		{
			name:       "code and reason",
			code:       ws.StatusNormalClosure,
			reason:     "bye",
			wantReason: "bye",
			wantCode:   ws.StatusNormalClosure,
		},
		{
			name:     "code 0: no body",
			reason:   "ignored",
			wantCode: ws.StatusNoStatusRcvd,
		},
		{
			name:     "1005: no body",
			code:     ws.StatusNoStatusRcvd,
			reason:   "ignored",
			wantCode: ws.StatusNoStatusRcvd,
		},
		{
			name:       "ASCII reason cut to 123 bytes",
			code:       ws.StatusGoingAway,
			reason:     pattern(200),
			wantReason: pattern(123),
			wantCode:   ws.StatusGoingAway,
		},
		{
			name:       "2-byte runes cut before the one that would straddle byte 123",
			code:       ws.StatusPolicyViolation,
			reason:     strings.Repeat("é", 70),
			wantReason: strings.Repeat("é", 61),
			wantCode:   ws.StatusPolicyViolation,
		},
		{
			name:       "4-byte runes",
			code:       4000,
			reason:     strings.Repeat("😀", 40),
			wantReason: strings.Repeat("😀", 30),
			wantCode:   4000,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := codec.NewCloseFrame(c.code, c.reason)
			defer f.Release()
			got := feed(t, &codec.Decoder{Client: true}, bytes.Clone(f.Bytes()))
			want := closeMsg(c.wantCode, c.wantReason)
			if got.code != 0 || len(got.msgs) != 1 || !sameMessage(got.msgs[0], want) {
				t.Fatalf(
					"decoded %+v\nwant %+v",
					got, want,
				)
			}
		})
	}
}

func TestFrameRetainRelease(t *testing.T) {
	t.Parallel()
	f := codec.NewFrame(ws.OpText, []byte("shared"))
	const holders = 8
	f.Retain(holders - 1)
	var wg sync.WaitGroup
	for range holders {
		wg.Go(func() {
			if string(f.Bytes()[2:]) != "shared" {
				t.Errorf(
					"Bytes = %q",
					f.Bytes(),
				)
			}
			f.Release()
		})
	}
	wg.Wait()
}

func TestFrameMisusePanics(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fn   func()
	}{
		{
			name: "release below zero",
			fn: func() {
				f := codec.NewFrame(ws.OpBinary, nil)
				f.Release()
				f.Release()
			},
		},
		{
			name: "retain after the last release",
			fn: func() {
				f := codec.NewFrame(ws.OpBinary, nil)
				f.Release()
				f.Retain(1)
			},
		},
		{
			name: "negative retain",
			fn:   func() { codec.NewFrame(ws.OpBinary, nil).Retain(-1) },
		},
		{
			name: "continuation opcode",
			fn:   func() { codec.NewFrame(ws.OpContinuation, nil) },
		},
		{
			name: "reserved opcode",
			fn:   func() { codec.NewFrame(0xb, nil) },
		},
		{
			name: "126-byte ping",
			fn:   func() { codec.NewFrame(ws.OpPing, make([]byte, 126)) },
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "codec: ") {
					t.Fatalf(
						"recovered %v; want a codec panic",
						r,
					)
				}
			}()
			c.fn()
		})
	}
}
