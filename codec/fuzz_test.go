package codec_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/wshub/wshub/codec"
)

// FuzzDecode: Decode never panics, never consumes more than it was given,
// and gives the same messages and error however the input is split.
func FuzzDecode(f *testing.F) {
	for _, g := range goldenTable {
		if w := g.wire(); len(w) <= 1024 {
			f.Add(w, uint16(len(w)/2), g.client, uint16(g.max))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16, client bool, max uint16) {
		decoder := func() *codec.Decoder {
			return &codec.Decoder{Client: client, MaxMessage: int64(max)}
		}
		whole := feed(t, decoder(), bytes.Clone(data))
		sameWhenSplit(t, decoder, data, split, whole)
	})
}

// sameWhenSplit checks that data decodes as it did in one read (whole)
// when it comes in two reads cut at split, and one byte at a time.
func sameWhenSplit(t *testing.T, decoder func() *codec.Decoder, data []byte, split uint16, whole outcome) {
	t.Helper()
	k := int(split) % (len(data) + 1)
	c := bytes.Clone(data)
	sameOutcome(t, "split", feed(t, decoder(), c[:k], c[k:]), whole)
	c = bytes.Clone(data)
	chunks := make([][]byte, len(c))
	for i := range c {
		chunks[i] = c[i : i+1]
	}
	sameOutcome(t, "byte by byte", feed(t, decoder(), chunks...), whole)
}

func sameOutcome(t *testing.T, how string, got, want outcome) {
	t.Helper()
	if got.code != want.code || got.left != want.left || !slices.EqualFunc(got.msgs, want.msgs, sameMessage) {
		t.Fatalf(
			"%s: %+v\nin one read: %+v",
			how, got, want,
		)
	}
}

// FuzzFrameRoundTrip: what AppendFrame (and NewFrame) encode, Decode gives
// back, in one frame or two fragments.
func FuzzFrameRoundTrip(f *testing.F) {
	f.Add([]byte("Hello"), uint8(0), uint32(0x37fa213d), uint16(0), false)
	f.Add([]byte("Hello"), uint8(0), uint32(0), uint16(3), true)
	f.Add([]byte("\xce\xba\xe1\xbd\xb9\xcf\x83"), uint8(0), uint32(1), uint16(3), false)
	f.Add([]byte("\xed\xa0\x80"), uint8(0), uint32(1), uint16(1), false)
	f.Add(bytes.Repeat([]byte{0xff}, 300), uint8(1), uint32(7), uint16(200), false)
	f.Add([]byte("ping"), uint8(2), uint32(9), uint16(0), true)
	f.Fuzz(func(t *testing.T, payload []byte, opIndex uint8, mask uint32, split uint16, client bool) {
		ops := []ws.OpCode{ws.OpText, ws.OpBinary, ws.OpPing, ws.OpPong}
		op := ops[int(opIndex)%len(ops)]
		if op.IsControl() && len(payload) > ws.MaxControlFramePayloadSize {
			payload = payload[:ws.MaxControlFramePayloadSize]
		}
		orig := bytes.Clone(payload)
		h := ws.Header{OpCode: op, Masked: !client}
		binary.BigEndian.PutUint32(h.Mask[:], mask)
		wire := appendFragments(h, payload, int(split))
		if !bytes.Equal(payload, orig) {
			t.Fatal("AppendFrame modified the payload")
		}
		got := feed(t, &codec.Decoder{Client: client}, wire)
		want := outcome{msgs: []codec.Message{{OpCode: op, Payload: payload}}}
		if op == ws.OpText && !utf8.Valid(payload) {
			want = outcome{code: ws.StatusInvalidFramePayloadData}
		}
		sameOutcome(t, "decoded", got, want)
		checkNewFrame(t, op, payload)
	})
}

// appendFragments encodes payload as one frame, or as two fragments cut at
// split if that falls inside a data payload.
func appendFragments(h ws.Header, payload []byte, split int) []byte {
	if h.OpCode.IsControl() || split == 0 || split >= len(payload) {
		h.Fin = true
		return codec.AppendFrame(nil, h, payload)
	}
	first := codec.AppendFrame(nil, h, payload[:split])
	h.Fin, h.OpCode = true, ws.OpContinuation
	return codec.AppendFrame(first, h, payload[split:])
}

// checkNewFrame compares NewFrame with AppendFrame.
func checkNewFrame(t *testing.T, op ws.OpCode, payload []byte) {
	frame := codec.NewFrame(op, payload)
	defer frame.Release()
	want := codec.AppendFrame(nil, ws.Header{Fin: true, OpCode: op}, payload)
	if !bytes.Equal(frame.Bytes(), want) {
		t.Fatalf(
			"NewFrame = % x\nAppendFrame = % x",
			trim(frame.Bytes()), trim(want),
		)
	}
}

// FuzzParseRequest: ParseRequest never panics, consumes exactly one head or
// nothing, refuses only with the statuses it documents, and parses the head
// alone the same way; CheckUpgrade and the responses never panic on what it
// returns.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{chromium, firefox, minimal(), minimal() + "\x81\x80", padded(300),
		head("GET /a%20b?x HTTP/1.0"), head("GET / HTTP/1.1", "Host: h", "X: 1", " 2"), "GET / HTTP/1.1\r\n"} {
		f.Add([]byte(s), uint16(0))
	}
	f.Add([]byte(chromium), uint16(100))
	f.Fuzz(func(t *testing.T, data []byte, max uint16) {
		req, n, err := codec.ParseRequest(data, int(max))
		if n < 0 || n > len(data) || (req != nil) != (n > 0) {
			t.Fatalf(
				"ParseRequest = %v, %d, %v",
				req, n, err,
			)
		}
		if err != nil {
			checkRefusal(t, err, 400, 431, 505)
			return
		}
		if req == nil {
			return
		}
		if !bytes.HasSuffix(data[:n], []byte("\r\n\r\n")) {
			t.Fatalf(
				"consumed %q",
				data[:n],
			)
		}
		again, n2, err := codec.ParseRequest(data[:n], int(max))
		if err != nil || n2 != n || !reflect.DeepEqual(again, req) {
			t.Fatalf(
				"head alone: %+v, %d, %v\nwant %+v",
				again, n2, err, req,
			)
		}
		key, err := codec.CheckUpgrade(req)
		if err != nil {
			checkRefusal(t, err, 400, 405, 426)
			return
		}
		codec.AppendUpgradeResponse(nil, key, nil)
	})
}

func checkRefusal(t *testing.T, err error, statuses ...int) {
	var he *codec.HTTPError
	if !errors.As(err, &he) || !slices.Contains(statuses, he.Status) {
		t.Fatalf(
			"refusal %v; want a *codec.HTTPError with a status in %v",
			err, statuses,
		)
	}
	codec.AppendErrorResponse(nil, he)
}
