package codec

import (
	"bytes"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// DefaultMaxHeaderBytes caps the request head (request line and headers).
const DefaultMaxHeaderBytes = 8 << 10

// Request is a parsed HTTP/1.1 request head (RFC 7230 §3).
type Request struct {
	Line     string // the request line, e.g. "GET /ws?room=a HTTP/1.1"
	Method   string
	Target   string // raw request-target, e.g. "/ws?room=a"
	Path     string // unescaped path of Target
	RawQuery string // query of Target, without '?'
	Proto    string // "HTTP/1.1"
	Host     string
	Header   http.Header // canonical keys, all values
}

var headEnd = []byte("\r\n\r\n")

// ParseRequest parses one request head from the start of b.
// It returns n == 0 and err == nil when b holds no complete head yet.
// max <= 0 means DefaultMaxHeaderBytes.
//
// n counts the head up to and including the blank line that ends it; the
// bytes after it are not consumed (they may be frames that arrived in the
// same read). Every error it returns is an *HTTPError: 431 for a head over
// max bytes, 505 for an HTTP version other than 1.x, 400 for anything
// malformed. Only origin-form targets ("/path?query") are accepted, lines
// must end in CRLF, and HTTP/1.1 requires exactly one Host header. Safe
// from any goroutine.
func ParseRequest(b []byte, max int) (req *Request, n int, err error) {
	if max <= 0 {
		max = DefaultMaxHeaderBytes
	}
	i := bytes.Index(b[:min(len(b), max)], headEnd)
	if i < 0 {
		if hasBareLF(b[:min(len(b), max)]) {
			return nil, 0, badRequest("request lines must end in CRLF")
		}
		if len(b) >= max {
			return nil, 0, httpErr(http.StatusRequestHeaderFieldsTooLarge, "request head too large")
		}
		return nil, 0, nil
	}
	req, err = parseHead(string(b[:i]))
	if err != nil {
		return nil, 0, err
	}
	return req, i + len(headEnd), nil
}

// hasBareLF reports whether b has a line feed without its carriage return:
// a request with bare-LF line endings, which would otherwise wait for a
// CRLF CRLF that never comes.
func hasBareLF(b []byte) bool {
	for i := bytes.IndexByte(b, '\n'); i >= 0; {
		if i == 0 || b[i-1] != '\r' {
			return true
		}
		j := bytes.IndexByte(b[i+1:], '\n')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

// parseHead parses the request line and header lines, without the final
// CRLF CRLF.
func parseHead(head string) (*Request, error) {
	line, rest, _ := strings.Cut(head, "\r\n")
	req, err := parseRequestLine(line)
	if err != nil {
		return nil, err
	}
	req.Header, err = parseHeaderLines(rest)
	if err != nil {
		return nil, err
	}
	req.Host, err = host(req)
	if err != nil {
		return nil, err
	}
	return req, nil
}

// ParseRequestLine parses a request line alone, "GET /ws?room=a HTTP/1.1"
// without its CRLF: the Request has Line, Method, Target, Path, RawQuery
// and Proto, no Host and no Header. Its errors are *HTTPError, as
// ParseRequest's. Safe from any goroutine.
func ParseRequestLine(line string) (*Request, error) { return parseRequestLine(line) }

// parseRequestLine parses "METHOD SP request-target SP HTTP-version".
//
// The line is copied first, so that Line, Method, Target, Path and RawQuery, and
// the values an application takes from the query and keeps (a room name),
// hold a few dozen bytes alive rather than the whole request head.
func parseRequestLine(line string) (*Request, error) {
	if hasCTL(line) || strings.Count(line, " ") != 2 {
		return nil, badRequest("malformed request line")
	}
	line = strings.Clone(line)
	method, rest, _ := strings.Cut(line, " ")
	target, proto, _ := strings.Cut(rest, " ")
	if !isToken(method) {
		return nil, badRequest("malformed method")
	}
	err := checkProto(proto)
	if err != nil {
		return nil, err
	}
	req := &Request{Line: line, Method: method, Target: target, Proto: proto}
	err = splitTarget(req)
	if err != nil {
		return nil, err
	}
	return req, nil
}

// checkProto accepts HTTP/1.x; CheckUpgrade then requires 1.1 or later.
func checkProto(proto string) error {
	if !strings.HasPrefix(proto, "HTTP/") {
		return badRequest("malformed HTTP version")
	}
	if _, ok := protoMinor(proto); !ok {
		return httpErr(http.StatusHTTPVersionNotSupported, "unsupported HTTP version")
	}
	return nil
}

// protoMinor returns x of "HTTP/1.x".
func protoMinor(proto string) (int, bool) {
	if len(proto) != len("HTTP/1.1") || !strings.HasPrefix(proto, "HTTP/1.") {
		return 0, false
	}
	c := proto[len(proto)-1]
	return int(c - '0'), '0' <= c && c <= '9'
}

// splitTarget fills Path and RawQuery from an origin-form Target.
func splitTarget(req *Request) error {
	if !strings.HasPrefix(req.Target, "/") || strings.ContainsRune(req.Target, '\t') {
		return badRequest("request target must be an absolute path")
	}
	path, query, _ := strings.Cut(req.Target, "?")
	p, err := url.PathUnescape(path)
	if err != nil {
		return badRequest("malformed request path")
	}
	req.Path, req.RawQuery = p, query
	return nil
}

// parseHeaderLines parses "Name: value" lines separated by CRLF. The map is
// sized up front, every header's first value shares one backing array, and
// the usual handshake headers get their canonical key without an allocation.
func parseHeaderLines(lines string) (http.Header, error) {
	n := strings.Count(lines, "\r\n") + 1
	h := make(http.Header, n)
	vals := make([]string, 0, n)
	for lines != "" {
		var line string
		line, lines, _ = strings.Cut(lines, "\r\n")
		name, value, err := parseHeaderLine(line)
		if err != nil {
			return nil, err
		}
		key, ok := commonKeys[name]
		if !ok {
			key = textproto.CanonicalMIMEHeaderKey(name)
		}
		if prev, ok := h[key]; ok {
			h[key] = append(prev, value)
			continue
		}
		vals = append(vals, value)
		h[key] = vals[len(vals)-1 : len(vals) : len(vals)] // a repeat appends elsewhere
	}
	return h, nil
}

// commonKeys maps the spellings of common request headers seen on the wire
// (canonical, as browsers send them, lower case) to their canonical keys.
var commonKeys = func() map[string]string {
	m := make(map[string]string)
	for _, k := range []string{
		"Host", "Upgrade", "Connection", "Origin", "User-Agent", "Pragma",
		"Cache-Control", "Accept", "Accept-Encoding", "Accept-Language", "Cookie",
		"Authorization", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
		"Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol",
	} {
		canon := textproto.CanonicalMIMEHeaderKey(k)
		m[k], m[canon], m[strings.ToLower(k)] = canon, canon, canon
	}
	return m
}()

func parseHeaderLine(line string) (name, value string, err error) {
	if line != "" && (line[0] == ' ' || line[0] == '\t') {
		return "", "", badRequest("obsolete header line folding")
	}
	name, value, ok := strings.Cut(line, ":")
	if !ok || !isToken(name) {
		return "", "", badRequest("malformed header line")
	}
	value = strings.Trim(value, " \t")
	if hasCTL(value) {
		return "", "", badRequest("control character in header " + name)
	}
	return name, value, nil
}

// host returns the Host header, required exactly once in HTTP/1.1 and at
// most once before (RFC 7230 §5.4).
func host(req *Request) (string, error) {
	hosts := req.Header["Host"]
	minor, _ := protoMinor(req.Proto)
	if len(hosts) > 1 || len(hosts) == 0 && minor >= 1 {
		return "", badRequest("missing or repeated Host header")
	}
	if len(hosts) == 0 {
		return "", nil
	}
	return hosts[0], nil
}

func badRequest(reason string) *HTTPError {
	return httpErr(http.StatusBadRequest, reason)
}
