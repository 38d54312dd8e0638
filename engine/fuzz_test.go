package engine_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/codec"
	"github.com/wshub/wshub/engine"
)

// FuzzConnInput sends arbitrary bytes to a live server, after an opening
// handshake or instead of one, and checks after every input that a healthy
// client on the same event loop still gets its echo: no input may panic the
// server, stall its loop or touch another connection.
func FuzzConnInput(f *testing.F) {
	srv := engine.New(engine.WithLoops(1), engine.WithHandshakeTimeout(200*time.Millisecond),
		engine.WithCloseTimeout(200*time.Millisecond), engine.WithMaxMessage(64<<10))
	srv.Handle(wsPath, echo())
	srv.HandleHTTP("/page", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "page") }))
	if err := srv.Start("127.0.0.1:0"); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { stopServer(f, srv) })
	addr := srv.Addr().String()
	healthy := dialUpgraded(f, addr)

	masked := func(op ws.OpCode, fin bool, p string) []byte {
		return codec.AppendFrame(nil, ws.Header{Fin: fin, OpCode: op, Masked: true, Mask: testMask}, []byte(p))
	}
	f.Add(true, masked(ws.OpText, true, "hello"))
	f.Add(true, append(masked(ws.OpText, false, "frag"), masked(ws.OpContinuation, true, "ment")...))
	f.Add(true, append(masked(ws.OpPing, true, "p"), masked(ws.OpClose, true, "\x03\xe8bye")...))
	f.Add(true, []byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'}) // unmasked
	f.Add(true, []byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4})
	f.Add(false, []byte(upgradeRequest(addr, wsPath)))
	f.Add(false, []byte("GET /page HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add(false, []byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add(false, []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")) // a TLS ClientHello

	f.Fuzz(func(t *testing.T, upgrade bool, data []byte) {
		nc, err := net.DialTimeout("tcp", addr, waitTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(waitTimeout))
		if upgrade {
			if _, err := io.WriteString(nc, upgradeRequest(addr, wsPath)); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("upgrade: %v %v", resp, err)
			}
		}
		_, _ = nc.Write(data) // the server may close first; that is fine
		_ = nc.Close()

		probe := data[:min(len(data), 1024)] // under the message cap
		_ = healthy.SetWriteDeadline(time.Now().Add(waitTimeout))
		if _, err := healthy.Conn.Write(bin(probe).Bytes()); err != nil {
			t.Fatalf("healthy client write: %v", err)
		}
		op, p, err := healthy.ReadMessage()
		if err != nil || op != ws.OpBinary || string(p) != string(probe) {
			t.Fatalf("healthy client echo: op %d, %d bytes, %v", op, len(p), err)
		}
	})
}
