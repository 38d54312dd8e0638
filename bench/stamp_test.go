package bench_test

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/bench"
	"github.com/wshub/wshub/codec"
)

var stampTable = []struct {
	name  string
	stamp bench.Stamp
	wire  []byte // the 20 bytes, big-endian
}{
	{
		name:  "zero (warm-up)",
		stamp: bench.Stamp{},
		wire:  make([]byte, bench.StampLen),
	},
	{
		name:  "typical",
		stamp: bench.Stamp{Sent: 0x0102030405060708, Seq: 42, Publisher: 7},
		wire:  []byte{1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 7},
	},
	{
		name:  "extremes",
		stamp: bench.Stamp{Sent: math.MaxInt64, Seq: math.MaxUint64, Publisher: math.MaxUint32},
		wire:  append([]byte{0x7f}, bytes.Repeat([]byte{0xff}, 19)...),
	},
}

func TestStampRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tt := range stampTable {
		t.Run(tt.name, func(t *testing.T) {
			b := make([]byte, 64)
			tt.stamp.Put(b)
			if !bytes.Equal(b[:bench.StampLen], tt.wire) {
				t.Errorf("Put wrote % x, want % x", b[:bench.StampLen], tt.wire)
			}
			got, err := bench.ReadStamp(b)
			if err != nil || got != tt.stamp {
				t.Errorf("ReadStamp = %+v, %v; want %+v", got, err, tt.stamp)
			}
		})
	}
}

// TestStampThroughFrames sends a stamped payload the way the client does
// (masked client frame) and reads it back the way it receives (server
// frame, client decoder).
func TestStampThroughFrames(t *testing.T) {
	t.Parallel()
	want := bench.Stamp{Sent: 1_700_000_000_123_456_789, Seq: 3, Publisher: 12}
	payload := bytes.Repeat([]byte{'x'}, 64)
	want.Put(payload)

	masked := codec.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: [4]byte{9, 8, 7, 6}}, payload)
	var server codec.Decoder
	m, n, err := server.Decode(masked)
	if err != nil || n != len(masked) || m.OpCode != ws.OpBinary {
		t.Fatalf("server Decode = %v, %d, %v", m.OpCode, n, err)
	}
	f := codec.NewFrame(ws.OpBinary, m.Payload)
	defer f.Release()
	client := codec.Decoder{Client: true}
	m, _, err = client.Decode(bytes.Clone(f.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := bench.ReadStamp(m.Payload)
	if err != nil || got != want || len(m.Payload) != 64 {
		t.Errorf("stamp after the round trip = %+v, %v (len %d); want %+v", got, err, len(m.Payload), want)
	}
}

func TestReadStampShort(t *testing.T) {
	t.Parallel()
	if _, err := bench.ReadStamp(make([]byte, bench.StampLen-1)); err == nil || errors.Is(err, nil) {
		t.Errorf("ReadStamp of 19 bytes: err = %v, want an error", err)
	}
}
