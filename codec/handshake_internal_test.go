package codec

import (
	"strings"
	"testing"
	"unsafe"
)

// within reports whether s's bytes lie inside outer's.
func within(s, outer string) bool {
	if len(s) == 0 {
		return false
	}
	p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(outer)))
	return lo <= p && p < lo+uintptr(len(outer))
}

// TestRequestLineHoldsNoHead checks that the request line's fields do not
// point into the head: a room name an application keeps from the query
// must not keep a browser's whole head (cookies included) alive.
func TestRequestLineHoldsNoHead(t *testing.T) {
	head := "GET /ws?room=lobby HTTP/1.1\r\nHost: example.com\r\nCookie: " + strings.Repeat("x", 2000)
	req, err := parseHead(head)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"Line": req.Line, "Method": req.Method, "Target": req.Target, "Path": req.Path,
		"RawQuery": req.RawQuery, "Proto": req.Proto} {
		if within(s, head) {
			t.Errorf("%s %q points into the request head", name, s)
		}
	}
	if !within(req.Header.Get("Cookie"), head) {
		t.Error("header values are copies; they are meant to share the head (one allocation)")
	}
}

func TestParseRequestLine(t *testing.T) {
	tests := []struct {
		line                              string
		method, target, path, query, prot string
		status                            int // 0: no error
	}{
		{line: "GET /ws?room=a%20b HTTP/1.1", method: "GET", target: "/ws?room=a%20b", path: "/ws", query: "room=a%20b", prot: "HTTP/1.1"},
		{line: "GET /a%2Fb HTTP/1.1", method: "GET", target: "/a%2Fb", path: "/a/b", prot: "HTTP/1.1"},
		{line: "GET /ws HTTP/2.0", status: 505},
		{line: "GET ws HTTP/1.1", status: 400},
		{line: "GET /ws  HTTP/1.1", status: 400},
		{line: "GET /ws\x00 HTTP/1.1", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			req, err := ParseRequestLine(tt.line)
			if tt.status != 0 {
				he, ok := err.(*HTTPError)
				if !ok || he.Status != tt.status {
					t.Fatalf("err %v, want an *HTTPError %d", err, tt.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := [6]string{req.Line, req.Method, req.Target, req.Path, req.RawQuery, req.Proto}
			if want := [6]string{tt.line, tt.method, tt.target, tt.path, tt.query, tt.prot}; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
			if req.Host != "" || req.Header != nil {
				t.Errorf("Host %q, Header %v; want none", req.Host, req.Header)
			}
		})
	}
}
