package codec_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/wshub/wshub/codec"
)

// head joins request lines with CRLF and ends the head with a blank line.
func head(lines ...string) string {
	return strings.Join(lines, "\r\n") + "\r\n\r\n"
}

var (
	chromium = head(
		"GET /chat?room=a HTTP/1.1",
		"Host: 127.0.0.1:8080",
		"Connection: Upgrade",
		"Pragma: no-cache",
		"Cache-Control: no-cache",
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Upgrade: websocket",
		"Origin: http://127.0.0.1:8080",
		"Sec-WebSocket-Version: 13",
		"Accept-Encoding: gzip, deflate, br, zstd",
		"Accept-Language: en-US,en;q=0.9",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
	)
	firefox = head(
		"GET /ws HTTP/1.1",
		"Host: localhost:8080",
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Accept: */*",
		"Accept-Language: en-US,en;q=0.5",
		"Accept-Encoding: gzip, deflate, br, zstd",
		"Sec-WebSocket-Version: 13",
		"Origin: http://localhost:8080",
		"Sec-WebSocket-Extensions: permessage-deflate",
		"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==",
		"Connection: keep-alive, Upgrade",
		"Sec-Fetch-Dest: empty",
		"Sec-Fetch-Mode: websocket",
		"Sec-Fetch-Site: same-origin",
		"Pragma: no-cache",
		"Cache-Control: no-cache",
		"Upgrade: websocket",
	)
)

// minimal is the smallest valid upgrade request, with extra lines inserted
// before the key.
func minimal(extra ...string) string {
	lines := []string{
		"GET / HTTP/1.1",
		"Host: h",
		"Upgrade: websocket",
		"Connection: Upgrade",
		"Sec-WebSocket-Version: 13",
	}
	lines = append(lines, extra...)
	return head(append(lines, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")...)
}

func TestParseRequest(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		in     string
		max    int
		n      int // bytes consumed; 0 with status 0: need more
		status int // of the refusal; 0: none
		check  func(*codec.Request) bool
	}{
		{
			name: "Chromium",
			in:   chromium,
			n:    len(chromium),
			check: func(r *codec.Request) bool {
				return r.Method == "GET" && r.Target == "/chat?room=a" && r.Path == "/chat" &&
					r.RawQuery == "room=a" && r.Proto == "HTTP/1.1" && r.Host == "127.0.0.1:8080" &&
					r.Header.Get("Sec-WebSocket-Key") == "dGhlIHNhbXBsZSBub25jZQ=="
			},
		},
		{
			name: "frames after the head are not consumed",
			in:   firefox + "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
			n:    len(firefox),
		},
		{
			name: "a second request after the head is not consumed",
			in:   minimal() + minimal(),
			n:    len(minimal()),
		},
		{
			name:  "escaped path, raw query",
			in:    head("GET /a%20b/%C3%A9?x=%20&y HTTP/1.1", "Host: h"),
			n:     len(head("GET /a%20b/%C3%A9?x=%20&y HTTP/1.1", "Host: h")),
			check: func(r *codec.Request) bool { return r.Path == "/a b/é" && r.RawQuery == "x=%20&y" },
		},
		{
			name: "repeated headers keep all values, keys canonical, OWS trimmed",
			in:   head("GET / HTTP/1.1", "host: h", "x-a: 1", "X-A:\t 2 \t", "X-Empty:"),
			n:    len(head("GET / HTTP/1.1", "host: h", "x-a: 1", "X-A:\t 2 \t", "X-Empty:")),
			check: func(r *codec.Request) bool {
				return r.Host == "h" && slices.Equal(r.Header["X-A"], []string{"1", "2"}) &&
					slices.Equal(r.Header["X-Empty"], []string{""})
			},
		},
		{
			name:  "HTTP/1.0 without Host parses",
			in:    head("GET / HTTP/1.0"),
			n:     len(head("GET / HTTP/1.0")),
			check: func(r *codec.Request) bool { return r.Proto == "HTTP/1.0" && r.Host == "" },
		},
		{name: "nothing yet", in: ""},
		{name: "half a request line", in: "GET / HT"},
		{name: "head without its blank line", in: strings.TrimSuffix(chromium, "\r\n")},
		{name: "bare LF lines are refused at once", in: "GET / HTTP/1.1\nHost: h\n\n", status: 400},
		{name: "a bare LF before the head is complete", in: "GET / HTTP/1.1\r\nHost: h\n", status: 400},
		{name: "CRLF so far waits for more", in: "GET / HTTP/1.1\r\nHost: h\r\n"},
		{name: "incomplete, 1 byte under the cap", in: strings.Repeat("a", 8191)},
		{name: "incomplete at the cap", in: strings.Repeat("a", 8192), status: 431},
		{name: "head of exactly 8 KiB", in: padded(8192), n: 8192},
		{name: "head of 8 KiB + 1", in: padded(8193), status: 431},
		{name: "head over a custom cap", in: chromium, max: 100, status: 431},
		{name: "empty request line", in: "\r\n\r\n", status: 400},
		{name: "request line without version", in: head("GET /", "Host: h"), status: 400},
		{name: "double space in request line", in: head("GET  / HTTP/1.1", "Host: h"), status: 400},
		{name: "space in target", in: head("GET /a b HTTP/1.1", "Host: h"), status: 400},
		{name: "bare LF inside the head", in: head("GET / HTTP/1.1\nHost: h"), status: 400},
		{name: "method not a token", in: head("GE(T / HTTP/1.1", "Host: h"), status: 400},
		{name: "absolute-form target", in: head("GET http://h/ HTTP/1.1", "Host: h"), status: 400},
		{name: "asterisk target", in: head("OPTIONS * HTTP/1.1", "Host: h"), status: 400},
		{name: "bad escape in path", in: head("GET /a%zz HTTP/1.1", "Host: h"), status: 400},
		{name: "not HTTP", in: head("GET / HTTX/1.1", "Host: h"), status: 400},
		{name: "HTTP/2.0", in: head("GET / HTTP/2.0", "Host: h"), status: 505},
		{name: "HTTP/2 preface", in: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", status: 505},
		{name: "HTTP/1", in: head("GET / HTTP/1", "Host: h"), status: 505},
		{name: "HTTP/1.1x", in: head("GET / HTTP/1.1x", "Host: h"), status: 505},
		{name: "header without colon", in: head("GET / HTTP/1.1", "Host: h", "Upgrade websocket"), status: 400},
		{name: "obs-fold", in: head("GET / HTTP/1.1", "Host: h", "X-A: 1", " 2"), status: 400},
		{name: "obs-fold with tab", in: head("GET / HTTP/1.1", "Host: h", "X-A: 1", "\t2"), status: 400},
		{name: "space before colon", in: head("GET / HTTP/1.1", "Host : h"), status: 400},
		{name: "empty header name", in: head("GET / HTTP/1.1", "Host: h", ": x"), status: 400},
		{name: "NUL in a value", in: head("GET / HTTP/1.1", "Host: h", "X-A: a\x00b"), status: 400},
		{name: "bare CR in a value", in: head("GET / HTTP/1.1", "Host: h", "X-A: a\rb"), status: 400},
		{name: "no Host", in: head("GET / HTTP/1.1", "Upgrade: websocket"), status: 400},
		{name: "two Hosts", in: head("GET / HTTP/1.1", "Host: a", "Host: b"), status: 400},
		{name: "two Hosts in HTTP/1.0", in: head("GET / HTTP/1.0", "Host: a", "Host: b"), status: 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req, n, err := codec.ParseRequest([]byte(c.in), c.max)
			if status := httpStatus(t, err); status != c.status || n != c.n {
				t.Fatalf(
					"ParseRequest: n %d, err %v; want n %d, status %d",
					n, err, c.n, c.status,
				)
			}
			if (req != nil) != (c.n > 0) || c.check != nil && !c.check(req) {
				t.Fatalf(
					"ParseRequest = %+v",
					req,
				)
			}
		})
	}
}

// padded is an upgrade request padded with a header to exactly n bytes.
func padded(n int) string {
	pad := n - len(minimal("X-Pad: "))
	return minimal("X-Pad: " + strings.Repeat("p", pad))
}

// httpStatus returns the status of a *codec.HTTPError, 0 for nil.
func httpStatus(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var he *codec.HTTPError
	if !errors.As(err, &he) {
		t.Fatalf(
			"error %v is not a *codec.HTTPError",
			err,
		)
	}
	return he.Status
}
