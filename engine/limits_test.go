package engine_test

import (
	"encoding/binary"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/wstest"
)

// TestMaxConns: past the limit a handshake gets 503 with Retry-After; a
// place that frees up is taken again.
func TestMaxConns(t *testing.T) {
	t.Parallel()
	srv, addr := serve(t, echo(), engine.WithMaxConns(3))
	held := []*rawConn{dialUpgraded(t, addr), dialUpgraded(t, addr), dialUpgraded(t, addr)}
	resp, body, _ := request(t, addr, wsPath)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %q, Retry-After %q", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	for _, c := range held {
		c.SendText("still here")
		c.ExpectText("still here")
	}
	held[0].Send(closeFrame(closeBody(engine.StatusNormalClosure, "")))
	held[0].ExpectClose(engine.StatusNormalClosure)
	_ = held[0].Close()
	wstest.Eventually(t, "a place frees up", func() bool { return srv.Len() == 2 })
	c := dialUpgraded(t, addr)
	c.SendText("in")
	c.ExpectText("in")
	if n := srv.Stats().Refused; n != 1 {
		t.Errorf("Stats.Refused = %d, want 1", n)
	}
}

// TestMaxConnsPerIP counts per client address: through a trusted proxy,
// the forwarded one.
func TestMaxConnsPerIP(t *testing.T) {
	t.Parallel()
	srv, addr := serve(t, echo(), engine.WithMaxConnsPerIP(2),
		engine.WithTrustedProxies(netip.MustParsePrefix("127.0.0.0/8")))
	a := "X-Forwarded-For: 203.0.113.7"
	dialUpgraded := func(extra string) { wstest.Dial(t, addr, wsPath, extra) }
	dialUpgraded(a)
	dialUpgraded(a)
	resp, body, _ := request(t, addr, wsPath, a)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third from one address: %d %q", resp.StatusCode, body)
	}
	dialUpgraded("X-Forwarded-For: 203.0.113.8") // another client, same proxy
	var clients []string
	srv.Range(func(c *engine.Conn) bool { clients = append(clients, c.ClientAddr().String()); return true })
	if strings.Count(strings.Join(clients, " "), "203.0.113.7") != 2 || len(clients) != 3 {
		t.Errorf("clients %v", clients)
	}
}

// TestForwardedUntrusted: forwarding headers from a peer that is not a
// trusted proxy are ignored.
func TestForwardedUntrusted(t *testing.T) {
	t.Parallel()
	conns := make(chan *engine.Conn, 1)
	_, addr := serve(t, engine.Handler{OnConnect: func(c *engine.Conn) { conns <- c }},
		engine.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")))
	wstest.Dial(t, addr, wsPath, "X-Forwarded-For: 203.0.113.7", "Forwarded: for=198.51.100.1")
	if got := (<-conns).ClientAddr().String(); got != "127.0.0.1" {
		t.Errorf("ClientAddr %s, want the TCP peer's", got)
	}
}

// TestMaxHandshakes: sockets past the handshake budget get the canned 503
// at once, and a completed handshake frees its place.
func TestMaxHandshakes(t *testing.T) {
	t.Parallel()
	srv, addr := serve(t, echo(), engine.WithMaxHandshakes(4))
	var idle []*rawConn
	for range 4 {
		idle = append(idle, dialRaw(t, addr)) // connect, say nothing
	}
	wstest.Eventually(t, "4 handshakes in progress", func() bool { return srv.Stats().Handshaking == 4 })
	c := dialRaw(t, addr)
	resp := c.Response()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || string(body) != "server busy\n" {
		t.Fatalf("over the handshake budget: %d %q", resp.StatusCode, body)
	}
	if n := srv.Stats().Shed; n != 1 {
		t.Errorf("Stats.Shed = %d, want 1", n)
	}
	idle[0].Write([]byte(upgradeRequest(addr, wsPath)))
	idle[0].ExpectUpgrade()
	wstest.Dial(t, addr, wsPath) // its place is free
}

// TestProxyProtocol takes the client's address from a PROXY v1 or v2
// header, and closes a connection that does not start with one.
func TestProxyProtocol(t *testing.T) {
	t.Parallel()
	v2 := func() []byte {
		b := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c")
		b = append(b, 198, 51, 100, 9, 127, 0, 0, 1)
		return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(b, 40000), 8080)
	}
	tests := []struct {
		name, client string
		header       []byte
		split        bool // header and request in separate writes
	}{
		{"v1", "192.0.2.33:51000", []byte("PROXY TCP4 192.0.2.33 127.0.0.1 51000 8080\r\n"), false},
		{"v1, then the request later", "192.0.2.33:51000", []byte("PROXY TCP4 192.0.2.33 127.0.0.1 51000 8080\r\n"), true},
		{"v1 IPv6", "[2001:db8::5]:443", []byte("PROXY TCP6 2001:db8::5 ::1 443 8080\r\n"), false},
		{"v2", "198.51.100.9:40000", v2(), false},
		{"v1 UNKNOWN keeps the peer", "127.0.0.1", []byte("PROXY UNKNOWN\r\n"), false},
	}
	conns := make(chan *engine.Conn, len(tests))
	_, addr := serve(t, engine.Handler{OnConnect: func(c *engine.Conn) { conns <- c }}, engine.WithProxyProtocol(true))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			req := []byte(upgradeRequest(addr, wsPath))
			if tt.split {
				c.Write(tt.header)
				time.Sleep(20 * time.Millisecond)
				c.Write(req)
			} else {
				c.Write(append(tt.header, req...))
			}
			c.ExpectUpgrade()
			sc := <-conns
			got := sc.RemoteAddr().String()
			if !strings.Contains(tt.client, ":") || strings.HasPrefix(tt.client, "127.") {
				got = sc.ClientAddr().String()
			}
			if got != tt.client {
				t.Errorf("client %s, want %s", got, tt.client)
			}
		})
	}
	t.Run("no header", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.Write([]byte(upgradeRequest(addr, wsPath)))
		c.ExpectEOF()
	})
}

// TestAcceptRate spaces accepts out: 30 connections at 20/s (bursts of 20)
// take at least half a second.
func TestAcceptRate(t *testing.T) {
	t.Parallel()
	_, addr := serve(t, echo(), engine.WithAcceptRate(20))
	start := time.Now()
	for range 30 {
		wstest.Dial(t, addr, wsPath)
	}
	if d := time.Since(start); d < 450*time.Millisecond {
		t.Errorf("30 connections in %v at 20/s", d)
	}
}
