package bench

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
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
// on host, offering the extensions ext ("" for none).
func appendUpgradeRequest(dst []byte, host, target, key, ext string) []byte {
	dst = append(dst, "GET "...)
	dst = append(dst, target...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, host...)
	dst = append(dst, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	dst = append(dst, key...)
	if ext != "" {
		dst = append(dst, "\r\nSec-WebSocket-Extensions: "...)
		dst = append(dst, ext...)
	}
	return append(dst, "\r\nSec-WebSocket-Version: 13\r\n\r\n"...)
}

// upgrade performs the opening handshake on c synchronously, offering
// permessage-deflate when compress is set, and returns the bytes that
// arrived after the response head (frames the server sent right away),
// which the caller must decode before anything read later, and the
// permessage-deflate the server accepted (nil: none).
func upgrade(c net.Conn, host, target string, compress bool, deadline time.Time) (leftover []byte, z *deflateParams, err error) {
	if err = c.SetDeadline(deadline); err != nil {
		return nil, nil, err
	}
	key, ext := newKey(), ""
	if compress {
		ext = deflateOffer
	}
	if _, err = c.Write(appendUpgradeRequest(make([]byte, 0, 256), host, target, key, ext)); err != nil {
		return nil, nil, err
	}
	head, rest, err := readHead(c)
	if err != nil {
		return nil, nil, err
	}
	if z, err = checkUpgradeResponse(head, key, compress); err != nil {
		return nil, nil, err
	}
	return rest, z, c.SetDeadline(time.Time{})
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
// 1 and 4) and, when deflate was offered, the server's answer to it
// (requirement 5: no extension that was not offered). It returns the
// permessage-deflate accepted, nil if none. Header names are
// case-insensitive.
func checkUpgradeResponse(head []byte, key string, offered bool) (*deflateParams, error) {
	status, fields, _ := strings.Cut(string(head), "\r\n")
	if !strings.HasPrefix(status, "HTTP/1.1 101 ") && status != "HTTP/1.1 101" {
		return nil, &HandshakeError{Status: status, Reason: "no 101 Switching Protocols"}
	}
	var accept, exts []string
	for line := range strings.SplitSeq(fields, "\r\n") {
		name, value, _ := strings.Cut(line, ":")
		switch name = strings.TrimSpace(name); {
		case strings.EqualFold(name, "Sec-WebSocket-Accept"):
			accept = append(accept, strings.TrimSpace(value))
		case strings.EqualFold(name, "Sec-WebSocket-Extensions"):
			exts = append(exts, strings.TrimSpace(value))
		}
	}
	switch {
	case len(accept) == 0:
		return nil, &HandshakeError{Status: status, Reason: "no Sec-WebSocket-Accept"}
	case accept[0] != codec.AcceptKey(key):
		return nil, &HandshakeError{Status: status, Reason: "wrong Sec-WebSocket-Accept"}
	}
	z, err := parseDeflateResponse(exts, offered)
	var he *HandshakeError
	if errors.As(err, &he) {
		he.Status = status
	}
	return z, err
}
