package codec_test

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/wshub/wshub/codec"
)

func TestCheckUpgrade(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		in     string
		status int         // of the refusal; 0: accepted
		header [][2]string // of the refusal
		key    string      // when accepted
	}{
		{name: "Chromium", in: chromium, key: "dGhlIHNhbXBsZSBub25jZQ=="},
		{name: "Firefox: Connection: keep-alive, Upgrade", in: firefox, key: "x3JJHMbDL1EzLkh9GBhXDw=="},
		{
			name: "tokens in any case, among others, over several lines",
			in: head("GET / HTTP/1.1", "Host: h", "Upgrade: foo/2, WebSocket", "Connection: keep-alive",
				"connection: UPGRADE", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw=="),
			key: "x3JJHMbDL1EzLkh9GBhXDw==",
		},
		{name: "HTTP/1.2 counts as 1.1", in: strings.Replace(minimal(), "HTTP/1.1", "HTTP/1.2", 1), key: "dGhlIHNhbXBsZSBub25jZQ=="},
		{
			name:   "POST",
			in:     strings.Replace(minimal(), "GET", "POST", 1),
			status: 405,
			header: [][2]string{{"Allow", "GET"}},
		},
		{name: "lower-case get", in: strings.Replace(minimal(), "GET", "get", 1), status: 405, header: [][2]string{{"Allow", "GET"}}},
		{name: "HTTP/1.0", in: strings.Replace(minimal(), "HTTP/1.1", "HTTP/1.0", 1), status: 400},
		{name: "no Upgrade", in: strings.Replace(minimal(), "Upgrade: websocket", "X: y", 1), status: 400},
		{name: "Upgrade: h2c", in: strings.Replace(minimal(), "Upgrade: websocket", "Upgrade: h2c", 1), status: 400},
		{name: "Upgrade: websockets", in: strings.Replace(minimal(), "Upgrade: websocket", "Upgrade: websockets", 1), status: 400},
		{name: "no Connection", in: strings.Replace(minimal(), "Connection: Upgrade", "X: y", 1), status: 400},
		{name: "Connection: keep-alive", in: strings.Replace(minimal(), "Connection: Upgrade", "Connection: keep-alive", 1), status: 400},
		{name: "Connection: upgraded", in: strings.Replace(minimal(), "Connection: Upgrade", "Connection: upgraded", 1), status: 400},
		{
			name:   "version 8",
			in:     strings.Replace(minimal(), "Version: 13", "Version: 8", 1),
			status: 426,
			header: [][2]string{{"Sec-WebSocket-Version", "13"}},
		},
		{name: "no version", in: strings.Replace(minimal(), "Sec-WebSocket-Version: 13", "X: y", 1), status: 426, header: [][2]string{{"Sec-WebSocket-Version", "13"}}},
		{name: "version list", in: strings.Replace(minimal(), "Version: 13", "Version: 13, 8", 1), status: 426, header: [][2]string{{"Sec-WebSocket-Version", "13"}}},
		{name: "two versions", in: minimal("Sec-WebSocket-Version: 13"), status: 426, header: [][2]string{{"Sec-WebSocket-Version", "13"}}},
		{name: "no key", in: strings.Replace(minimal(), "Sec-WebSocket-Key", "X", 1), status: 400},
		{name: "two keys", in: minimal("Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw=="), status: 400},
		{name: "key not base64", in: strings.Replace(minimal(), "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ!!", 1), status: 400},
		{name: "key of 15 bytes", in: strings.Replace(minimal(), "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25j", 1), status: 400},
		{name: "key of 17 bytes", in: strings.Replace(minimal(), "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZXM=", 1), status: 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req, _, err := codec.ParseRequest([]byte(c.in), 0)
			if err != nil || req == nil {
				t.Fatalf(
					"ParseRequest: %v",
					err,
				)
			}
			key, err := codec.CheckUpgrade(req)
			var he *codec.HTTPError
			if errors.As(err, &he) != (c.status != 0) || key != c.key {
				t.Fatalf(
					"CheckUpgrade = %q, %v; want %q, status %d",
					key, err, c.key, c.status,
				)
			}
			if he != nil && (he.Status != c.status || !slices.Equal(he.Header, c.header)) {
				t.Fatalf(
					"CheckUpgrade refused with %d %v; want %d %v",
					he.Status, he.Header, c.status, c.header,
				)
			}
		})
	}
}

func TestAcceptKey(t *testing.T) {
	t.Parallel()
	// RFC 6455 §1.3.
	if got := codec.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf(
			"AcceptKey = %q",
			got,
		)
	}
}

func TestAppendUpgradeResponse(t *testing.T) {
	t.Parallel()
	got := codec.AppendUpgradeResponse([]byte("x"), "dGhlIHNhbXBsZSBub25jZQ==", [][2]string{{"Sec-WebSocket-Protocol", "chat"}})
	want := "x" + head(
		"HTTP/1.1 101 Switching Protocols",
		"Upgrade: websocket",
		"Connection: Upgrade",
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
		"Sec-WebSocket-Protocol: chat",
	)
	if string(got) != want {
		t.Fatalf(
			"AppendUpgradeResponse =\n%q\nwant\n%q",
			got, want,
		)
	}
}

func TestAppendResponse(t *testing.T) {
	t.Parallel()
	got := codec.AppendResponse(nil, 404, [][2]string{{"X-A", "1"}}, []byte("gone"))
	want := head("HTTP/1.1 404 Not Found", "X-A: 1", "Content-Length: 4", "Connection: close") + "gone"
	if string(got) != want {
		t.Fatalf(
			"AppendResponse =\n%q\nwant\n%q",
			got, want,
		)
	}
}

// TestAppendErrorResponse renders a refusal and reads it back with net/http.
func TestAppendErrorResponse(t *testing.T) {
	t.Parallel()
	e := &codec.HTTPError{Status: 426, Reason: "Sec-WebSocket-Version must be 13", Header: [][2]string{{"Sec-WebSocket-Version", "13"}}}
	header := slices.Clone(e.Header)
	b := codec.AppendErrorResponse(nil, e)
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(b))), nil)
	if err != nil {
		t.Fatalf(
			"ReadResponse: %v",
			err,
		)
	}
	body, _ := io.ReadAll(resp.Body)
	ok := resp.StatusCode == 426 && resp.Status == "426 Upgrade Required" && string(body) == e.Reason+"\n" &&
		resp.Header.Get("Sec-WebSocket-Version") == "13" && resp.Close &&
		resp.Header.Get("Content-Type") == "text/plain; charset=utf-8"
	if !ok || !slices.Equal(e.Header, header) {
		t.Fatalf(
			"response %q; e.Header now %v",
			b, e.Header,
		)
	}
}
