package bench

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"net"
	"strings"
	"time"

	"github.com/wshub/wshub/codec"
)

// maxResponseHead caps the 101 response head the client reads.
const maxResponseHead = 8 << 10

var headEnd = []byte("\r\n\r\n")

// newKey returns a random Sec-WebSocket-Key: 16 bytes, base64 (RFC 6455
// §4.1).
func newKey() string {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	return base64.StdEncoding.EncodeToString(nonce[:])
}

// appendUpgradeRequest appends the opening handshake for target ("/ws?room=x")
// on host.
func appendUpgradeRequest(dst []byte, host, target, key string) []byte {
	dst = append(dst, "GET "...)
	dst = append(dst, target...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, host...)
	dst = append(dst, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	dst = append(dst, key...)
	return append(dst, "\r\nSec-WebSocket-Version: 13\r\n\r\n"...)
}

// upgrade performs the opening handshake on c synchronously and returns the
// bytes that arrived after the response head (frames the server sent right
// away), which the caller must decode before anything read later.
func upgrade(c net.Conn, host, target string, deadline time.Time) (leftover []byte, err error) {
	if err = c.SetDeadline(deadline); err != nil {
		return nil, err
	}
	key := newKey()
	if _, err = c.Write(appendUpgradeRequest(make([]byte, 0, 256), host, target, key)); err != nil {
		return nil, err
	}
	head, rest, err := readHead(c)
	if err != nil {
		return nil, err
	}
	if err = checkUpgradeResponse(head, key); err != nil {
		return nil, err
	}
	return rest, c.SetDeadline(time.Time{})
}

// readHead reads from c until the end of a response head and splits what it
// read into the head (without the final CRLF CRLF) and the bytes after it.
func readHead(c net.Conn) (head, rest []byte, err error) {
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if i := bytes.Index(buf, headEnd); i >= 0 {
			return buf[:i], bytes.Clone(buf[i+len(headEnd):]), nil
		}
		if err != nil {
			return nil, nil, err
		}
		if len(buf) >= maxResponseHead {
			return nil, nil, &HandshakeError{Reason: "response head over 8 KiB"}
		}
	}
}

// checkUpgradeResponse accepts a "101" status line with
// Sec-WebSocket-Accept matching key (RFC 6455 §4.1, client requirements
// 1 and 4). Header names are case-insensitive.
func checkUpgradeResponse(head []byte, key string) error {
	status, fields, _ := strings.Cut(string(head), "\r\n")
	if !strings.HasPrefix(status, "HTTP/1.1 101 ") && status != "HTTP/1.1 101" {
		return &HandshakeError{Status: status, Reason: "no 101 Switching Protocols"}
	}
	want := codec.AcceptKey(key)
	for line := range strings.SplitSeq(fields, "\r\n") {
		name, value, _ := strings.Cut(line, ":")
		if strings.EqualFold(strings.TrimSpace(name), "Sec-WebSocket-Accept") {
			if strings.TrimSpace(value) != want {
				return &HandshakeError{Status: status, Reason: "wrong Sec-WebSocket-Accept"}
			}
			return nil
		}
	}
	return &HandshakeError{Status: status, Reason: "no Sec-WebSocket-Accept"}
}
