package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	coder "github.com/coder/websocket"
	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"
	"github.com/klauspost/compress/flate"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/wstest"
)

// compressedClient is a client library with permessage-deflate on, in one
// of its modes.
type compressedClient struct {
	name string
	dial func(t *testing.T, addr, path string) (peer, string) // and the 101's Sec-WebSocket-Extensions
}

var compressedClients = []compressedClient{
	{name: "gorilla", dial: func(t *testing.T, addr, path string) (peer, string) {
		d := websocket.Dialer{HandshakeTimeout: waitTimeout, EnableCompression: true}
		c, resp, err := d.Dial("ws://"+addr+path, nil)
		if err != nil {
			t.Fatalf("gorilla dial: %v", err)
		}
		_ = resp.Body.Close()
		t.Cleanup(func() { _ = c.Close() })
		c.SetReadLimit(4 << 20)
		return gorillaPeer{c}, resp.Header.Get("Sec-WebSocket-Extensions")
	}},
	{name: "coder-no-context-takeover", dial: func(t *testing.T, addr, path string) (peer, string) {
		return dialCoderZ(t, addr, path, coder.CompressionNoContextTakeover)
	}},
	{name: "coder-context-takeover", dial: func(t *testing.T, addr, path string) (peer, string) {
		return dialCoderZ(t, addr, path, coder.CompressionContextTakeover)
	}},
}

func dialCoderZ(t *testing.T, addr, path string, mode coder.CompressionMode) (peer, string) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, resp, err := coder.Dial(ctx, "ws://"+addr+path, &coder.DialOptions{CompressionMode: mode, CompressionThreshold: 1})
	if err != nil {
		t.Fatalf("coder dial: %v", err)
	}
	if resp.Body != nil {
		_ = resp.Body.Close()
	}
	c.SetReadLimit(4 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return coderPeer{c}, resp.Header.Get("Sec-WebSocket-Extensions")
}

// compressible is JSON-like text of n bytes.
func compressible(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"seq":%d,"user":"u%d","text":"hello number %d"},`, i, i%17, i*31%1000)
	}
	return b.Bytes()[:n]
}

// TestCompressedEcho: gorilla (EnableCompression: no context takeover
// either way, large messages in 4 KiB frames) and coder/websocket (with
// and without context takeover), against a route with permessage-deflate,
// as the server offers it by default (no client context) and with client
// windows allowed, echo text and binary messages of 0 B to 1 MiB, sent
// several times over (so that a client keeping its context refers back
// to earlier ones).
func TestCompressedEcho(t *testing.T) {
	t.Parallel()
	servers := []struct {
		name string
		z    engine.Compression
	}{
		{name: "no-client-context", z: engine.Compression{Enabled: true}},
		{name: "client-window-15", z: engine.Compression{Enabled: true, ClientWindowBits: 15}},
	}
	sizes := []int{0, 1, 200, 4000, 65536, 1 << 20}
	for _, sv := range servers {
		compressed := make(chan bool, 100)
		srv := serve(t, "/ws", engine.Handler{
			Compression: sv.z,
			OnConnect:   func(c *engine.Conn) { compressed <- c.Compressed() },
			OnMessage:   func(c *engine.Conn, op engine.OpCode, p []byte) { _ = c.Send(op, p) },
		}, engine.WithMaxMessage(2<<20))
		for _, cl := range compressedClients {
			t.Run(sv.name+"/"+cl.name, func(t *testing.T) {
				c, ext := cl.dial(t, srv.Addr().String(), "/ws")
				if !strings.HasPrefix(ext, "permessage-deflate") || !<-compressed {
					t.Fatalf("not negotiated: %q", ext)
				}
				for round := range 2 {
					for _, op := range []engine.OpCode{engine.OpText, engine.OpBinary} {
						for _, size := range sizes {
							p := compressible(size)
							if err := c.write(op, p); err != nil {
								t.Fatalf("write: %v", err)
							}
							gotOp, got, err := c.read()
							if err != nil || gotOp != op || !bytes.Equal(got, p) {
								t.Fatalf("round %d: %v %d bytes: got %v %d bytes, %v", round, op, size, gotOp, len(got), err)
							}
						}
					}
				}
			})
		}
	}
}

// TestDeflateBomb: a client sends one small compressed frame that would
// inflate to 64 MiB on a server whose cap is 1 MiB: it is closed with
// 1009, the server allocates a few MiB at most for it, and a compressed
// client beside it keeps echoing. Not parallel: it reads the process's
// allocation counter.
func TestDeflateBomb(t *testing.T) {
	srv := serve(t, "/ws", engine.Handler{
		Compression: engine.Compression{Enabled: true},
		OnMessage:   func(c *engine.Conn, op engine.OpCode, p []byte) { _ = c.Send(op, p) },
	}, engine.WithMaxMessage(1<<20), engine.WithLoops(1))
	addr := srv.Addr().String()
	other, _ := compressedClients[0].dial(t, addr, "/ws")

	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestSpeed)
	_, _ = io.Copy(w, io.LimitReader(zeros{}, 64<<20))
	_ = w.Flush()
	bomb := bytes.TrimSuffix(z.Bytes(), []byte{0, 0, 0xff, 0xff})
	t.Logf("bomb: %d bytes inflating to 64 MiB", len(bomb))

	c := wstest.Dial(t, addr, "/ws", "Sec-WebSocket-Extensions: permessage-deflate")
	frame := wstest.Frame{Fin: true, Op: ws.OpBinary, Rsv: 4, Payload: bomb}.Bytes()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c.Write(frame)
	c.ExpectClose(ws.StatusMessageTooBig)
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Fatalf("the server allocated %d MiB for a bomb against a 1 MiB cap", grew>>20)
	} else {
		t.Logf("allocated %d KiB while refusing it", grew>>10)
	}
	msg := compressible(5000)
	if err := other.write(engine.OpText, msg); err != nil {
		t.Fatal(err)
	}
	if _, got, err := other.read(); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("the other client: %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
