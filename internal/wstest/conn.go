package wstest

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
)

// maxFrame bounds a server frame a Conn reads, so that a broken length
// cannot make a test allocate gigabytes.
const maxFrame = 64 << 20

// Conn is a WebSocket client that writes and reads bytes over TCP.
type Conn struct {
	t testing.TB
	net.Conn
	R *bufio.Reader
}

// DialTCP opens a TCP connection to addr without a handshake. It is closed
// when the test ends.
func DialTCP(t testing.TB, addr string) *Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return &Conn{t: t, Conn: nc, R: bufio.NewReaderSize(nc, 64<<10)}
}

// Dial opens a connection to addr and completes the opening handshake on
// path; extra request header lines ("Name: value") are added.
func Dial(t testing.TB, addr, path string, extra ...string) *Conn {
	t.Helper()
	c, err := DialE(t, addr, path, extra...)
	if err != nil {
		t.Fatalf("dial %s%s: %v", addr, path, err)
	}
	return c
}

// UpgradeRequest is an opening handshake for path on addr; extra lines
// ("Name: value") are added to the head.
func UpgradeRequest(addr, path string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\n", path, addr)
	b.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\n")
	b.WriteString("Sec-WebSocket-Key: " + Key + "\r\nSec-WebSocket-Version: 13\r\n")
	for _, line := range extra {
		b.WriteString(line + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// Write sends b in one write.
func (c *Conn) Write(b []byte) {
	c.t.Helper()
	_ = c.SetWriteDeadline(time.Now().Add(Timeout))
	if _, err := c.Conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// Send writes the frames in one write.
func (c *Conn) Send(frames ...Frame) {
	c.t.Helper()
	var b []byte
	for _, f := range frames {
		b = f.Append(b)
	}
	c.Write(b)
}

// SendText sends one final text frame.
func (c *Conn) SendText(s string) { c.t.Helper(); c.Send(Text(s)) }

// Response reads an HTTP response head (and body) within Timeout.
func (c *Conn) Response() *http.Response {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(Timeout))
	resp, err := http.ReadResponse(c.R, nil)
	if err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	return resp
}

// ExpectUpgrade reads a 101 response with the right accept key.
func (c *Conn) ExpectUpgrade() *http.Response {
	c.t.Helper()
	resp := c.Response()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(resp.Body)
		c.t.Fatalf("status %s (%q), want 101", resp.Status, body)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != Accept {
		c.t.Fatalf("Sec-WebSocket-Accept = %q, want %q", got, Accept)
	}
	return resp
}

// ReadFrame reads one server frame within Timeout. A masked frame is an
// error (servers never mask, RFC 6455 §5.1). Safe from any goroutine.
func (c *Conn) ReadFrame() (ws.Header, []byte, error) {
	_ = c.SetReadDeadline(time.Now().Add(Timeout))
	h, err := ws.ReadHeader(c.R)
	if err != nil {
		return h, nil, err
	}
	if h.Length > maxFrame {
		return h, nil, fmt.Errorf("server frame of %d bytes", h.Length)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c.R, p); err != nil {
		return h, nil, err
	}
	if h.Masked {
		return h, p, errors.New("server frame is masked")
	}
	return h, p, nil
}

// ReadMessage reads the next data message, reassembling fragments, and
// answers nothing: control frames other than close are skipped, and a
// close frame is returned as a *CloseError. Safe from any goroutine.
func (c *Conn) ReadMessage() (ws.OpCode, []byte, error) {
	var op ws.OpCode
	var msg []byte
	for {
		h, p, err := c.ReadFrame()
		if err != nil {
			return 0, nil, err
		}
		switch {
		case h.OpCode == ws.OpClose:
			return 0, nil, closeError(p)
		case h.OpCode.IsControl():
			continue
		case h.OpCode != ws.OpContinuation:
			op = h.OpCode
		}
		msg = append(msg, p...)
		if h.Fin {
			return op, msg, nil
		}
	}
}

// CloseError is a close frame read by ReadMessage.
type CloseError struct {
	Code   ws.StatusCode // 0: no code
	Reason string
}

func (e *CloseError) Error() string { return fmt.Sprintf("close frame %d %q", e.Code, e.Reason) }

func closeError(p []byte) error {
	if len(p) < 2 {
		return &CloseError{}
	}
	return &CloseError{Code: ws.StatusCode(binary.BigEndian.Uint16(p)), Reason: string(p[2:])}
}

// CloseCode returns the code of a *CloseError, or -1.
func CloseCode(err error) int {
	var ce *CloseError
	if errors.As(err, &ce) {
		return int(ce.Code)
	}
	return -1
}

// ExpectFrame reads one final frame and checks its opcode and payload.
func (c *Conn) ExpectFrame(op ws.OpCode, payload []byte) {
	c.t.Helper()
	h, p, err := c.ReadFrame()
	if err != nil {
		c.t.Fatalf("read frame (want %v of %d bytes): %v", op, len(payload), err)
	}
	if !h.Fin || h.OpCode != op || string(p) != string(payload) {
		c.t.Fatalf("got %v (fin %v) %s, want %v %s", h.OpCode, h.Fin, Abbrev(p), op, Abbrev(payload))
	}
}

// ExpectText reads one final text frame with payload s.
func (c *Conn) ExpectText(s string) { c.t.Helper(); c.ExpectFrame(ws.OpText, []byte(s)) }

// ExpectClose reads one frame, checks that it is a close frame with code
// (0: empty payload) and returns its reason.
func (c *Conn) ExpectClose(code ws.StatusCode) string {
	c.t.Helper()
	h, p, err := c.ReadFrame()
	if err != nil {
		c.t.Fatalf("read close frame (want %d): %v", code, err)
	}
	if h.OpCode != ws.OpClose {
		c.t.Fatalf("got %v %s, want close %d", h.OpCode, Abbrev(p), code)
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

// ExpectEOF reads until the server closes TCP, within Timeout. Any byte
// before the EOF, or an error other than io.EOF (a reset, the deadline),
// fails the test.
func (c *Conn) ExpectEOF() {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(Timeout))
	n, err := io.Copy(io.Discard, c.R)
	if err != nil {
		c.t.Fatalf("read until EOF: %v after %d more bytes", err, n)
	}
	if n != 0 {
		c.t.Fatalf("%d bytes after the last expected frame, want EOF", n)
	}
}

// NewConn wraps a connection whose opening handshake was read through r.
func NewConn(t testing.TB, nc net.Conn, r *bufio.Reader) *Conn {
	return &Conn{t: t, Conn: nc, R: r}
}

// DialE is Dial returning an error instead of failing the test, for other
// goroutines than the test's. The connection is closed when the test ends.
func DialE(t testing.TB, addr, path string, extra ...string) (*Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(Timeout))
	if _, err := io.WriteString(nc, UpgradeRequest(addr, path, extra...)); err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(nc, 64<<10)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != Accept {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("handshake: status %s (%q), accept %q, want 101 and %q",
			resp.Status, body, resp.Header.Get("Sec-WebSocket-Accept"), Accept)
	}
	_ = nc.SetDeadline(time.Time{})
	return NewConn(t, nc, r), nil
}

// AnswerClose reads until the server's close frame, skipping messages,
// and answers it with the same code, as client libraries do. It returns
// the code. Safe from any goroutine.
func (c *Conn) AnswerClose() (ws.StatusCode, error) {
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *CloseError
		if !errors.As(err, &ce) {
			return 0, err
		}
		_ = c.SetWriteDeadline(time.Now().Add(Timeout))
		_, err = c.Conn.Write(Close(CloseBody(ce.Code, "")).Bytes())
		return ce.Code, err
	}
}
