package engine_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/codec"
)

// The raw client: WebSocket written and read as bytes over net.Conn, for
// what real clients cannot send (violations, fragments, odd handshakes) and
// for reading exactly what the server wrote.

// testKey is the Sec-WebSocket-Key of RFC 6455 §1.3 and testAccept its answer.
const (
	testKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	testAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// testMask masks every frame the raw client sends.
var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// rawConn is a client that speaks WebSocket as bytes over TCP.
type rawConn struct {
	t testing.TB
	net.Conn
	br *bufio.Reader
}

// dialRaw opens a TCP connection to addr.
func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return &rawConn{t: t, Conn: nc, br: bufio.NewReader(nc)}
}

// upgradeRequest is an opening handshake for path on addr; extra lines
// ("Name: value") are added to the head.
func upgradeRequest(addr, path string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\n", path, addr)
	b.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\n")
	b.WriteString("Sec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n")
	for _, line := range extra {
		b.WriteString(line + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// dialUpgraded opens a raw connection and completes the opening handshake.
func dialUpgraded(t testing.TB, addr string) *rawConn {
	t.Helper()
	c := dialRaw(t, addr)
	c.write([]byte(upgradeRequest(addr, wsPath)))
	c.expectUpgrade()
	return c
}

// write sends b in one write.
func (c *rawConn) write(b []byte) {
	c.t.Helper()
	_ = c.SetWriteDeadline(time.Now().Add(waitTimeout))
	if _, err := c.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// send writes the frames in one write.
func (c *rawConn) send(frames ...frame) {
	c.t.Helper()
	var b []byte
	for _, f := range frames {
		b = f.append(b)
	}
	c.write(b)
}

// response reads an HTTP response head (and body) within waitTimeout.
func (c *rawConn) response() *http.Response {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	return resp
}

// expectUpgrade reads a 101 response with the right accept key.
func (c *rawConn) expectUpgrade() {
	c.t.Helper()
	resp := c.response()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(resp.Body)
		c.t.Fatalf("status %s (%q), want 101", resp.Status, body)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != testAccept {
		c.t.Fatalf("Sec-WebSocket-Accept = %q, want %q", got, testAccept)
	}
}

// readFrame reads one server frame within waitTimeout.
func (c *rawConn) readFrame() (ws.Header, []byte, error) {
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	h, err := ws.ReadHeader(c.br)
	if err != nil {
		return h, nil, err
	}
	if h.Length > 4<<20 {
		return h, nil, fmt.Errorf("server frame of %d bytes", h.Length)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return h, nil, err
	}
	if h.Masked {
		return h, p, errors.New("server frame is masked")
	}
	if !h.Fin {
		return h, p, errors.New("server frame is fragmented")
	}
	return h, p, nil
}

// expectFrame reads one frame and checks its opcode and payload.
func (c *rawConn) expectFrame(op ws.OpCode, payload []byte) {
	c.t.Helper()
	h, p, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("read frame (want %v of %d bytes): %v", op, len(payload), err)
	}
	if h.OpCode != op || string(p) != string(payload) {
		c.t.Fatalf("got %v %s, want %v %s", h.OpCode, abbrev(p), op, abbrev(payload))
	}
}

// expectClose reads one frame, checks that it is a close frame with code
// (0: empty payload) and returns its reason.
func (c *rawConn) expectClose(code ws.StatusCode) string {
	c.t.Helper()
	h, p, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("read close frame (want %d): %v", code, err)
	}
	if h.OpCode != ws.OpClose {
		c.t.Fatalf("got %v %s, want close %d", h.OpCode, abbrev(p), code)
	}
	if code == 0 {
		if len(p) != 0 {
			c.t.Fatalf("close payload %q, want empty", p)
		}
		return ""
	}
	if len(p) < 2 {
		c.t.Fatalf("close payload %q, want code %d", p, code)
	}
	if got := ws.StatusCode(binary.BigEndian.Uint16(p)); got != code {
		c.t.Fatalf("close code %d (%q), want %d", got, p[2:], code)
	}
	return string(p[2:])
}

// expectEOF reads until the server closes TCP, within waitTimeout. Any byte
// before the EOF, or an error other than io.EOF (a reset, the deadline),
// fails the test.
func (c *rawConn) expectEOF() {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	n, err := io.Copy(io.Discard, c.br)
	if err != nil {
		c.t.Fatalf("read until EOF: %v after %d more bytes", err, n)
	}
	if n != 0 {
		c.t.Fatalf("%d bytes after the last expected frame, want EOF", n)
	}
}

// frame is one client frame on the wire, masked with testMask unless
// unmasked.
type frame struct {
	fin      bool
	op       ws.OpCode
	rsv      byte // RSV1..3 in ws.Header.Rsv layout: 4, 2, 1
	payload  []byte
	unmasked bool
}

func (f frame) append(dst []byte) []byte {
	return codec.AppendFrame(dst, ws.Header{
		Fin: f.fin, Rsv: f.rsv, OpCode: f.op, Masked: !f.unmasked, Mask: testMask,
	}, f.payload)
}

func (f frame) bytes() []byte { return f.append(nil) }

// text and binary are final, masked data frames.
func text(s string) frame       { return frame{fin: true, op: ws.OpText, payload: []byte(s)} }
func bin(b []byte) frame        { return frame{fin: true, op: ws.OpBinary, payload: b} }
func closeFrame(b []byte) frame { return frame{fin: true, op: ws.OpClose, payload: b} }

// closeBody is a close frame payload: code and reason.
func closeBody(code ws.StatusCode, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}
