package hub_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/codec"
	"github.com/wshub/wshub/internal/hub"
)

// wireFrames splits server frames and reports, for each, whether RSV1 is
// set, after checking the wire holds whole frames.
func wireFrames(t *testing.T, b []byte) (rsv1 []bool) {
	t.Helper()
	for len(b) > 0 {
		n := 2
		size := int(b[1] & 0x7f)
		switch size {
		case 126:
			size, n = int(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			size, n = int(binary.BigEndian.Uint64(b[2:])), 10
		}
		rsv1 = append(rsv1, b[0]&0x40 != 0)
		b = b[n+size:]
	}
	return rsv1
}

// inflated decodes what a compressed connection's kernel took.
func inflated(t *testing.T, wire []byte) []frame {
	t.Helper()
	d := codec.Decoder{Client: true, MaxMessage: 64 << 20}
	d.SetDeflate(0)
	var out []frame
	for len(wire) > 0 {
		m, n, err := d.Decode(wire)
		if err != nil || m.OpCode == 0 {
			t.Fatalf("not whole valid frames: %v", err)
		}
		out = append(out, frame{op: m.OpCode, payload: string(m.Payload)})
		wire = wire[n:]
	}
	return out
}

// TestCompressedFanOut: one fan-out reaches compressed and plain
// connections; the compressed ones get one compressed frame, the same
// bytes for all of them, the plain ones the plain frame; small messages and
// messages larger than a connection's window go plain; every connection's
// burst still leaves in one write.
func TestCompressedFanOut(t *testing.T) {
	r := newRig(t, hub.Config{CompressionMin: 100})
	cs := r.openN(0)
	// 0-2: compressed, window 15; 3: window 9 (512 bytes); 4-5: plain.
	for i, bits := range []uint8{15, 15, 15, 9, 0, 0} {
		c := &fakeConn{}
		c.sock = fakeSocket{r: r, c: c, take: -1}
		r.h.Open(&c.hc, r.loop, &c.sock, c)
		r.sh = c.hc.Shard()
		c.hc.SetCompression(bits)
		r.step(func() { r.h.Attach(&c.hc) })
		if c.hc.Compressed() != (bits != 0) {
			t.Fatalf("connection %d: Compressed() = %v", i, c.hc.Compressed())
		}
		cs = append(cs, c)
	}
	r.step(func() {
		for _, c := range cs[1:] {
			must(t, r.h.Join(&c.hc, "room"))
		}
	})
	big := strings.Repeat(`{"player":7,"x":1.5,"y":2.25},`, 16)  // 480 bytes: within window 9
	mid := strings.Repeat(`{"p":7,"x":1.5,"y":2.25},`, 24)[:600] // over window 9
	small := "hi"
	type send struct {
		do   func() error
		msg  string
		to   []int
		zTo  []int // connections that get it compressed
		name string
	}
	sends := []send{
		{name: "broadcast big", do: func() error { return r.h.Broadcast(ws.OpText, []byte(big), nil) }, msg: big,
			to: []int{0, 1, 2, 3, 4, 5}, zTo: []int{0, 1, 2, 3}},
		{name: "broadcast small", do: func() error { return r.h.Broadcast(ws.OpText, []byte(small), nil) }, msg: small,
			to: []int{0, 1, 2, 3, 4, 5}},
		{name: "broadcast mid", do: func() error { return r.h.Broadcast(ws.OpText, []byte(mid), nil) }, msg: mid,
			to: []int{0, 1, 2, 3, 4, 5}, zTo: []int{0, 1, 2}},
		{name: "publish big", do: func() error { return r.h.Publish("room", ws.OpText, []byte(big+"1"), nil) }, msg: big + "1",
			to: []int{1, 2, 3, 4, 5}, zTo: []int{1, 2, 3}},
		{name: "send big to 0", do: func() error { return r.h.Send(&cs[0].hc, ws.OpBinary, []byte(big+"2")) }, msg: big + "2",
			to: []int{0}, zTo: []int{0}},
		{name: "send big to 4", do: func() error { return r.h.Send(&cs[4].hc, ws.OpText, []byte(big+"3")) }, msg: big + "3",
			to: []int{4}},
	}
	want := make([][]frame, len(cs))
	wantZ := make([][]bool, len(cs))
	r.step(func() {
		for _, s := range sends {
			must(t, s.do())
			for _, k := range s.to {
				op := ws.OpText
				if strings.HasPrefix(s.name, "send big to 0") {
					op = ws.OpBinary
				}
				want[k] = append(want[k], frame{op: op, payload: s.msg})
				wantZ[k] = append(wantZ[k], slices.Contains(s.zTo, k))
			}
		}
	})
	for k, c := range cs {
		var got []frame
		if c.hc.Compressed() {
			got = inflated(t, c.sock.wire)
		} else {
			got = c.sock.frames(t)
		}
		if !slices.Equal(got, want[k]) {
			t.Errorf("connection %d got %d messages, want %d: %v", k, len(got), len(want[k]), got)
		}
		if z := wireFrames(t, c.sock.wire); !slices.Equal(z, wantZ[k]) {
			t.Errorf("connection %d: compressed frames %v, want %v", k, z, wantZ[k])
		}
		if c.sock.writes != 1 {
			t.Errorf("connection %d: %d writes, want 1", k, c.sock.writes)
		}
	}
	if !bytes.Equal(cs[1].sock.wire, cs[2].sock.wire) {
		t.Error("two compressed members of the room got different bytes")
	}
	if len(cs[1].sock.wire) >= len(cs[4].sock.wire)/2 {
		t.Errorf("compressed connection took %d bytes, plain %d", len(cs[1].sock.wire), len(cs[4].sock.wire))
	}
}

// TestCompressedHeldFrames: under PolicyDropOldest, a compressed frame held
// for a congested connection outlives the message's other holders and is
// delivered whole when the socket drains.
func TestCompressedHeldFrames(t *testing.T) {
	r := newRig(t, hub.Config{MaxBacklog: 4096, Policy: hub.PolicyDropOldest, CompressionMin: 1})
	c := &fakeConn{}
	c.sock = fakeSocket{r: r, c: c, take: 0}
	r.h.Open(&c.hc, r.loop, &c.sock, c)
	r.sh = c.hc.Shard()
	c.hc.SetCompression(15)
	r.step(func() { r.h.Attach(&c.hc) })
	var sent []frame
	for i := range 40 {
		var b strings.Builder
		for j := range 300 {
			fmt.Fprintf(&b, "%d,", (i*7919+j*104729)%100003)
		}
		msg := fmt.Sprintf("%d:%s", i, b.String())
		sent = append(sent, txt(msg))
		must(t, r.h.Broadcast(ws.OpText, []byte(msg), nil))
		r.loop.run()
	}
	c.sock.take = -1
	c.sock.drain()
	r.eventually("held frames pumped", func() bool {
		c.sock.drain()
		return len(c.sock.buffered) == 0 && r.h.Stats().Dropped > 0
	})
	got := inflated(t, c.sock.wire)
	if len(got) == 0 || len(got) >= len(sent) {
		t.Fatalf("got %d of %d messages; want some dropped, some delivered", len(got), len(sent))
	}
	// What arrives is a tail of what was sent, in order: the oldest were dropped.
	for i, f := range got {
		if f != sent[len(sent)-len(got)+i] && f != sent[i] {
			t.Fatalf("message %d out of order: %.20q", i, f.payload)
		}
	}
}
