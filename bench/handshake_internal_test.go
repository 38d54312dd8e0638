package bench

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/wshub/wshub/codec"
)

func TestUpgradeRequestPassesTheServerCodec(t *testing.T) {
	t.Parallel()
	key := newKey()
	b := appendUpgradeRequest(nil, "127.0.0.1:9", "/ws?room=bench", key, deflateOffer)
	req, n, err := codec.ParseRequest(b, 0)
	if err != nil || n != len(b) {
		t.Fatalf("ParseRequest = %d, %v", n, err)
	}
	got, err := codec.CheckUpgrade(req)
	if err != nil || got != key {
		t.Fatalf("CheckUpgrade = %q, %v; want %q", got, err, key)
	}
	if req.Path != "/ws" || req.RawQuery != "room=bench" {
		t.Errorf("target = %q ? %q", req.Path, req.RawQuery)
	}
	if got := codec.Extensions(req.Header.Values("Sec-WebSocket-Extensions")); len(got) != 1 || got[0] != deflateOffer {
		t.Errorf("extensions offered = %q, want [%q]", got, deflateOffer)
	}
}

func TestCheckUpgradeResponse(t *testing.T) {
	t.Parallel()
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	const accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" // RFC 6455 §1.3
	tests := []struct {
		name string
		head string
		ok   bool
	}{
		{"valid", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept, true},
		{"lower-case header", "HTTP/1.1 101 Switching Protocols\r\nsec-websocket-accept:" + accept, true},
		{"wrong accept", "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: AAAA", false},
		{"no accept", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket", false},
		{"refused", "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkUpgradeResponse([]byte(tt.head), key, false)
			var he *HandshakeError
			if tt.ok != (err == nil) || err != nil && !errors.As(err, &he) {
				t.Errorf("checkUpgradeResponse = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestUpgradeKeepsBytesAfterTheHead: frames that arrive in the same read
// as the 101 must not be lost.
func TestUpgradeKeepsBytesAfterTheHead(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	// The server end stays open until the test ends: a pipe whose other
	// end has closed refuses even SetDeadline, which upgrade calls last.
	defer server.Close()
	defer client.Close()
	frame := []byte{0x82, 0x03, 'a', 'b', 'c'}
	go func() {
		buf := make([]byte, 1024)
		n, _ := server.Read(buf)
		req, _, _ := codec.ParseRequest(buf[:n], 0)
		key, _ := codec.CheckUpgrade(req)
		_, _ = server.Write(append(codec.AppendUpgradeResponse(nil, key, nil), frame...))
	}()
	rest, _, err := upgrade(client, "pipe", "/echo", false, time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rest, frame) {
		t.Errorf("leftover = % x, want % x", rest, frame)
	}
}
