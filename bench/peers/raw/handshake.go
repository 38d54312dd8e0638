package main

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
)

// websocketGUID is the constant of RFC 6455 section 1.3.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

var (
	errBadRequest = errors.New("raw: bad handshake request")
	errNotFound   = errors.New("raw: no such route")
)

// request is what the server needs from an upgrade request.
type request struct {
	path   string
	room   string
	key    string
	header map[string]string // lower-case names
}

// readRequest parses a request head line by line from br, which the caller
// bounds in size.
func readRequest(br *bufio.Reader) (request, error) {
	line, err := readLine(br)
	if err != nil {
		return request{}, err
	}
	method, rest, _ := strings.Cut(line, " ")
	target, proto, _ := strings.Cut(rest, " ")
	if method != "GET" || proto != "HTTP/1.1" {
		return request{}, errBadRequest
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return request{}, errBadRequest
	}
	h, err := readHeaders(br)
	if err != nil {
		return request{}, err
	}
	return request{path: u.Path, room: u.Query().Get("room"), key: h["sec-websocket-key"], header: h}, nil
}

// checkUpgrade checks what RFC 6455 section 4.2.1 asks of a server.
func checkUpgrade(req request) error {
	h := req.header
	if !hasToken(h["upgrade"], "websocket") || !hasToken(h["connection"], "upgrade") ||
		h["sec-websocket-version"] != "13" || !validKey(req.key) {
		return errBadRequest
	}
	return nil
}

// readHeaders reads header lines up to the blank line. Names are lower
// case; repeated headers are joined with commas.
func readHeaders(br *bufio.Reader) (map[string]string, error) {
	h := make(map[string]string)
	for {
		line, err := readLine(br)
		if err != nil {
			return nil, err
		}
		if line == "" {
			return h, nil
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, errBadRequest
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if prev, ok := h[name]; ok {
			value = prev + ", " + value
		}
		h[name] = value
	}
}

func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return "", errBadRequest
	}
	return string(bytes.TrimRight(line, "\r\n")), nil
}

// hasToken reports whether a comma-separated header value holds token.
func hasToken(value, token string) bool {
	for part := range strings.SplitSeq(value, ",") {
		if strings.EqualFold(strings.TrimSpace(part), token) {
			return true
		}
	}
	return false
}

// validKey reports whether key is base64 of 16 bytes (section 4.1).
func validKey(key string) bool {
	b, err := base64.StdEncoding.DecodeString(key)
	return err == nil && len(b) == 16
}

// acceptKey computes Sec-WebSocket-Accept for key (section 4.2.2).
func acceptKey(key string) string {
	sum := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// response is the 101 answer to req.
func response(req request) []byte {
	return []byte("HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + acceptKey(req.key) + "\r\n\r\n")
}

// rejection is the answer to a request that cannot be upgraded.
func rejection(err error) []byte {
	status := "400 Bad Request"
	if errors.Is(err, errNotFound) {
		status = "404 Not Found"
	}
	return []byte("HTTP/1.1 " + status + "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
}
