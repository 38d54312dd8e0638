package smoke_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// compressing are the peers with a -compression flag.
var compressing = []string{"gorilla", "gws"}

// TestPeersCompressed: with -compression, a client that offers
// permessage-deflate gets it on every route, and what the peer sends is
// compressed on the wire; /sink takes messages and answers pings. Without
// the flag, no route negotiates it, and /sink is there all the same.
func TestPeersCompressed(t *testing.T) {
	for _, name := range compressing {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			on := start(t, name, "-compression")
			for _, c := range []struct {
				name string
				run  func(t *testing.T, addr string)
			}{
				{name: "negotiated on every route", run: checkNegotiated(true)},
				{name: "room", run: checkRoomCompressed},
				{name: "echo", run: checkEchoCompressed},
				{name: "sink", run: checkSink(true)},
			} {
				t.Run(c.name, func(t *testing.T) { c.run(t, on.addr) })
			}
			off := start(t, name)
			t.Run("not negotiated without the flag", func(t *testing.T) { checkNegotiated(false)(t, off.addr) })
			t.Run("sink without the flag", func(t *testing.T) { checkSink(false)(t, off.addr) })
			for _, s := range []*server{on, off} {
				if strings.Contains(s.stderr.String(), "DATA RACE") {
					t.Error("the race detector reported a data race")
				}
			}
		})
	}
}

// countingConn counts the bytes read from the server: what it sent on the
// wire.
type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.read.Add(int64(n))
	return n, err
}

// dialZ dials path offering permessage-deflate and checks that it was
// negotiated (or not); it returns the connection and its count of bytes
// read.
func dialZ(t *testing.T, addr, path string, want bool) (*websocket.Conn, *atomic.Int64) {
	t.Helper()
	read := new(atomic.Int64)
	d := websocket.Dialer{
		EnableCompression: true,
		HandshakeTimeout:  ioTimeout,
		NetDialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			c, err := new(net.Dialer).DialContext(ctx, network, a)
			if err != nil {
				return nil, err
			}
			return countingConn{Conn: c, read: read}, nil
		},
	}
	c, resp, err := d.Dial("ws://"+addr+path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	t.Cleanup(func() { c.Close() })
	ext := resp.Header.Get("Sec-WebSocket-Extensions")
	if got := strings.HasPrefix(ext, "permessage-deflate"); got != want {
		t.Fatalf("%s: Sec-WebSocket-Extensions %q; want permessage-deflate %v", path, ext, want)
	}
	if want && !strings.Contains(ext, "server_no_context_takeover") {
		t.Errorf("%s: %q: want server_no_context_takeover (one compressed frame for every member)", path, ext)
	}
	return c, read
}

func checkNegotiated(want bool) func(t *testing.T, addr string) {
	return func(t *testing.T, addr string) {
		for _, path := range []string{"/ws?room=z", "/echo", "/sink"} {
			dialZ(t, addr, path, want)
			ext := chromiumOffer(t, addr, path)
			if want != strings.HasPrefix(ext, "permessage-deflate") || want && !strings.Contains(ext, "server_no_context_takeover") {
				t.Errorf("%s: Chromium's offer answered %q; want permessage-deflate %v, without server context takeover", path, ext, want)
			}
		}
	}
}

// chromiumOffer opens path with Chromium's offer, which leaves context
// takeover to the server (wsbench -compression offers the same), and
// returns the answer's Sec-WebSocket-Extensions.
func chromiumOffer(t *testing.T, addr, path string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("%s: %v, %v", path, resp, err)
	}
	return resp.Header.Get("Sec-WebSocket-Extensions")
}

// compressible is 64 KiB of text that deflate shrinks to a few KiB.
var compressible = bytes.Repeat([]byte(`{"id":1,"kind":"player","x":10.5,"y":-3.25},`), 1500)

// checkRoomCompressed: every message reaches both members unchanged, and
// a compressible one arrives compressed.
func checkRoomCompressed(t *testing.T, addr string) {
	a, _ := dialZ(t, addr, "/ws?room=z", true)
	b, bRead := dialZ(t, addr, "/ws?room=z", true)
	join(t, a, "a")
	join(t, b, "b")
	for _, m := range append(messages, message{name: "compressible", mt: websocket.TextMessage, data: compressible}) {
		send(t, a, m)
		expect(t, a, m)
		before := bRead.Load()
		expect(t, b, m)
		if m.name == "compressible" {
			if n := bRead.Load() - before; n > int64(len(m.data))/4 {
				t.Errorf("%d B on the wire for %d B: not compressed", n, len(m.data))
			}
		}
	}
}

// checkEchoCompressed: every message comes back unchanged, a compressible
// one compressed.
func checkEchoCompressed(t *testing.T, addr string) {
	c, read := dialZ(t, addr, "/echo", true)
	for _, m := range messages {
		send(t, c, m)
		expect(t, c, m)
	}
	before := read.Load()
	m := message{name: "compressible", mt: websocket.BinaryMessage, data: compressible}
	send(t, c, m)
	expect(t, c, m)
	if n := read.Load() - before; n > int64(len(compressible))/4 {
		t.Errorf("%d B on the wire for %d B: not compressed", n, len(compressible))
	}
}

// checkSink: /sink reads messages and sends nothing back but the pong of
// a ping sent after them.
func checkSink(compressed bool) func(t *testing.T, addr string) {
	return func(t *testing.T, addr string) {
		c, _ := dialZ(t, addr, "/sink", compressed)
		pongs := make(chan string, 1)
		c.SetPongHandler(func(data string) error {
			pongs <- data
			return nil
		})
		for _, m := range append(messages, message{name: "compressible", mt: websocket.TextMessage, data: compressible}) {
			send(t, c, m)
		}
		if err := c.WriteControl(websocket.PingMessage, []byte("after"), time.Now().Add(ioTimeout)); err != nil {
			t.Fatal(err)
		}
		// Only the pong comes: reading hits the deadline after it.
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		mt, data, err := c.ReadMessage()
		var ne net.Error // gorilla wraps the timeout in its own net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("read type %d %.40q, %v; want nothing until the deadline", mt, data, err)
		}
		select {
		case got := <-pongs:
			if got != "after" {
				t.Errorf("pong %q, want %q", got, "after")
			}
		default:
			t.Error("no pong for the ping sent after the messages")
		}
	}
}
