package engine_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
)

// head is a request head: the request line, then header lines.
func head(line string, headers ...string) string {
	return line + "\r\n" + strings.Join(append(headers, "", ""), "\r\n")
}

// upgradeHeaders are the header lines of a valid opening handshake to addr,
// without those named in drop (case-insensitive prefixes "Name:").
func upgradeHeaders(addr string, drop ...string) []string {
	all := []string{
		"Host: " + addr,
		"Upgrade: websocket",
		"Connection: Upgrade",
		"Sec-WebSocket-Key: " + testKey,
		"Sec-WebSocket-Version: 13",
	}
	var out []string
	for _, h := range all {
		name, _, _ := strings.Cut(h, ":")
		if !slices.ContainsFunc(drop, func(d string) bool { return strings.EqualFold(d, name) }) {
			out = append(out, h)
		}
	}
	return out
}

// TestHandshake sends opening handshakes as raw bytes: good ones get 101
// and a working connection, bad ones a complete HTTP error response and
// then the end of TCP (no reset).
func TestHandshake(t *testing.T) {
	t.Parallel()
	get := "GET " + wsPath + " HTTP/1.1"
	tests := []struct {
		name       string
		opts       []engine.Option
		req        func(addr string) string
		wantStatus []int             // any of these
		wantHeader map[string]string // on the response
	}{
		{
			name:       "valid",
			req:        func(a string) string { return head(get, upgradeHeaders(a)...) },
			wantStatus: []int{101},
		},
		{
			name:       "unknown path",
			req:        func(a string) string { return head("GET /nope HTTP/1.1", upgradeHeaders(a)...) },
			wantStatus: []int{404},
		},
		{
			name:       "malformed request line",
			req:        func(string) string { return "GARBAGE\r\n\r\n" },
			wantStatus: []int{400},
		},
		{
			name:       "request line without version",
			req:        func(a string) string { return head("GET "+wsPath, upgradeHeaders(a)...) },
			wantStatus: []int{400},
		},
		{
			name:       "missing Sec-WebSocket-Key",
			req:        func(a string) string { return head(get, upgradeHeaders(a, "Sec-WebSocket-Key")...) },
			wantStatus: []int{400},
		},
		{
			name: "Sec-WebSocket-Key of 4 bytes",
			req: func(a string) string {
				return head(get, append(upgradeHeaders(a, "Sec-WebSocket-Key"), "Sec-WebSocket-Key: dGVzdA==")...)
			},
			wantStatus: []int{400},
		},
		{
			name: "Sec-WebSocket-Key not base64",
			req: func(a string) string {
				return head(get, append(upgradeHeaders(a, "Sec-WebSocket-Key"), "Sec-WebSocket-Key: !!!!not-base64!!!!!!!!==")...)
			},
			wantStatus: []int{400},
		},
		{
			name:       "missing Upgrade: websocket",
			req:        func(a string) string { return head(get, upgradeHeaders(a, "Upgrade")...) },
			wantStatus: []int{400},
		},
		{
			name: "Sec-WebSocket-Version: 8",
			req: func(a string) string {
				return head(get, append(upgradeHeaders(a, "Sec-WebSocket-Version"), "Sec-WebSocket-Version: 8")...)
			},
			wantStatus: []int{426},
			wantHeader: map[string]string{"Sec-WebSocket-Version": "13"},
		},
		{
			name:       "Origin from another host",
			req:        func(a string) string { return head(get, append(upgradeHeaders(a), "Origin: http://other.example")...) },
			wantStatus: []int{403},
		},
		{
			name:       "Origin from another host, not in WithOrigins",
			opts:       []engine.Option{engine.WithOrigins("http://third.example")},
			req:        func(a string) string { return head(get, append(upgradeHeaders(a), "Origin: http://other.example")...) },
			wantStatus: []int{403},
		},
		{
			name:       "Origin from another host, WithOrigins(*)",
			opts:       []engine.Option{engine.WithOrigins("*")},
			req:        func(a string) string { return head(get, append(upgradeHeaders(a), "Origin: http://other.example")...) },
			wantStatus: []int{101},
		},
		{
			name:       "Origin from another host, WithOrigins of that origin",
			opts:       []engine.Option{engine.WithOrigins("http://third.example", "http://other.example")},
			req:        func(a string) string { return head(get, append(upgradeHeaders(a), "Origin: http://other.example")...) },
			wantStatus: []int{101},
		},
		{
			name: "Origin from another host, WithOrigins of that bare host",
			opts: []engine.Option{engine.WithOrigins("other.example:8080")},
			req: func(a string) string {
				return head(get, append(upgradeHeaders(a), "Origin: http://other.example:8080")...)
			},
			wantStatus: []int{101},
		},
		{
			name:       "no Origin header",
			req:        func(a string) string { return head(get, upgradeHeaders(a)...) },
			wantStatus: []int{101},
		},
		{
			name:       "same origin",
			req:        func(a string) string { return head(get, append(upgradeHeaders(a), "Origin: http://"+a)...) },
			wantStatus: []int{101},
		},
		{
			name: "head over 8 KiB",
			req: func(a string) string {
				return head(get, append(upgradeHeaders(a), "X-Pad: "+strings.Repeat("p", 9<<10))...)
			},
			wantStatus: []int{431},
		},
		{
			name: "head over WithMaxHeaderBytes(1024)",
			opts: []engine.Option{engine.WithMaxHeaderBytes(1024)},
			req: func(a string) string {
				return head(get, append(upgradeHeaders(a), "X-Pad: "+strings.Repeat("p", 2<<10))...)
			},
			wantStatus: []int{431},
		},
		{
			name:       "POST to the WebSocket path",
			req:        func(a string) string { return head("POST "+wsPath+" HTTP/1.1", upgradeHeaders(a)...) },
			wantStatus: []int{400, 405},
		},
		{
			name:       "HTTP/1.0",
			req:        func(a string) string { return head("GET "+wsPath+" HTTP/1.0", upgradeHeaders(a)...) },
			wantStatus: []int{400, 505},
		},
		{
			name: "Connection: keep-alive, Upgrade",
			req: func(a string) string {
				return head(get, append(upgradeHeaders(a, "Connection"), "Connection: keep-alive, Upgrade")...)
			},
			wantStatus: []int{101},
		},
		{
			name: "tokens and header names in other cases",
			req: func(a string) string {
				return head(get, "host: "+a, "UPGRADE: WebSocket", "connection: upgrade",
					"sec-websocket-key: "+testKey, "SEC-WEBSOCKET-VERSION: 13")
			},
			wantStatus: []int{101},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, addr := serve(t, echo(), tt.opts...)
			c := dialRaw(t, addr)
			c.Write([]byte(tt.req(addr)))
			resp := c.Response()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if !slices.Contains(tt.wantStatus, resp.StatusCode) {
				t.Fatalf("status %s (%q), want one of %v", resp.Status, body, tt.wantStatus)
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if resp.StatusCode != http.StatusSwitchingProtocols {
				c.ExpectEOF()
				return
			}
			if got := resp.Header.Get("Sec-WebSocket-Accept"); got != testAccept {
				t.Errorf("Sec-WebSocket-Accept = %q, want %q", got, testAccept)
			}
			c.Send(text("upgraded"))
			c.ExpectFrame(ws.OpText, []byte("upgraded"))
		})
	}
}

// TestHandshakeTimeout: a client that does not complete its request head
// within WithHandshakeTimeout loses TCP; one that completed it keeps it.
func TestHandshakeTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	tests := []struct {
		name    string
		chunks  []string // written 50 ms apart
		upgrade bool     // then complete the handshake: it must stay open
	}{
		{name: "sends nothing"},
		{name: "dribbles part of a request line", chunks: []string{"GE", "T /w", "s HT"}},
		{name: "headers without the final blank line", chunks: []string{"GET /ws HTTP/1.1\r\n", "Host: x\r\n", "Upgrade: websocket\r\n"}},
		{name: "completed handshake stays open", upgrade: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, addr := serve(t, echo(), engine.WithHandshakeTimeout(timeout))
			start := time.Now()
			c := dialRaw(t, addr)
			for _, chunk := range tt.chunks {
				c.Write([]byte(chunk))
				time.Sleep(50 * time.Millisecond)
			}
			if tt.upgrade {
				c.Write([]byte(upgradeRequest(addr, wsPath)))
				c.ExpectUpgrade()
				time.Sleep(2 * timeout)
				c.Send(text("alive"))
				c.ExpectFrame(ws.OpText, []byte("alive"))
				return
			}
			c.ExpectEOF()
			if took := time.Since(start); took < timeout || took > timeout+3*time.Second {
				t.Errorf("closed %v after connecting, want after the handshake timeout of %v", took, timeout)
			}
		})
	}
}
