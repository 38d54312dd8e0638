package hub_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/hub"
)

// wait bounds every blocking step of a test.
const wait = 10 * time.Second

// idPrefix starts the first message every test server sends: the ID the hub
// gave the connection. A client that has read it knows it is attached.
const idPrefix = "id:"

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// gnet's shared worker pool (ants) outlives every engine.
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*goWorker).run.func1"),
	)
}

// server is an engine.Server on 127.0.0.1:0 serving /ws.
type server struct {
	*engine.Server
	hub *hub.Hub
	url string
}

// startServer starts a server whose OnConnect first sends the connection's
// ID, then runs h.OnConnect. It stops when the test ends, after the clients
// dialled later have been closed.
func startServer(t testing.TB, h engine.Handler, opts ...engine.Option) *server {
	t.Helper()
	opts = append([]engine.Option{engine.WithCloseTimeout(time.Second)}, opts...)
	srv := engine.New(opts...)
	onConnect := h.OnConnect
	h.OnConnect = func(c *engine.Conn) {
		if err := c.SendText(idPrefix + strconv.FormatUint(c.ID(), 10)); err != nil {
			panic(err)
		}
		if onConnect != nil {
			onConnect(c)
		}
	}
	srv.Handle("/ws", h)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return &server{Server: srv, hub: srv.Hub(), url: "ws://" + srv.Addr().String() + "/ws"}
}

// conn returns the server side of the client with id.
func (s *server) conn(t testing.TB, id uint64) *engine.Conn {
	t.Helper()
	c, ok := s.Get(id)
	if !ok {
		t.Fatalf("Get(%d): not found", id)
	}
	return c
}

// client is a gorilla/websocket client that has read its hub ID.
type client struct {
	ws *websocket.Conn
	id uint64
}

// dial connects a client and reads its ID. It is closed when the test ends.
func dial(t testing.TB, s *server) *client {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: wait}
	wc, resp, err := d.Dial(s.url, nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = wc.Close() })
	c := &client{ws: wc}
	msg := c.read(t)
	id, err := strconv.ParseUint(strings.TrimPrefix(msg, idPrefix), 10, 64)
	if err != nil || !strings.HasPrefix(msg, idPrefix) {
		t.Fatalf("first message %q, want %s<id>", msg, idPrefix)
	}
	c.id = id
	return c
}

// dialN dials n clients.
func dialN(t testing.TB, s *server, n int) []*client {
	t.Helper()
	cs := make([]*client, n)
	for i := range cs {
		cs[i] = dial(t, s)
	}
	return cs
}

// read returns the next message as a string, failing after wait.
func (c *client) read(t testing.TB) string {
	t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(wait))
	_, p, err := c.ws.ReadMessage()
	if err != nil {
		t.Fatalf("client %d: read: %v", c.id, err)
	}
	return string(p)
}

// readUntil returns the messages before marker, marker excluded.
func (c *client) readUntil(t testing.TB, marker string) []string {
	t.Helper()
	var got []string
	for {
		m := c.read(t)
		if m == marker {
			return got
		}
		got = append(got, m)
	}
}

// close drops the client's TCP connection.
func (c *client) close() { _ = c.ws.Close() }

// eventually polls cond every millisecond until it holds or wait passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitMembers waits until room has want members.
func waitMembers(t testing.TB, h *hub.Hub, room string, want int) {
	t.Helper()
	eventually(t, fmt.Sprintf("Members(%q) == %d", room, want), func() bool { return h.Members(room) == want })
}

// waitLen waits until the hub has want connections.
func waitLen(t testing.TB, h *hub.Hub, want int) {
	t.Helper()
	eventually(t, fmt.Sprintf("Len() == %d", want), func() bool { return h.Len() == want })
}

// rawClient is a WebSocket client on a plain TCP socket, for tests that must
// see every byte (frames after a close frame) and for benchmarks.
type rawClient struct {
	conn net.Conn
	r    *bufio.Reader
}

// dialRaw performs the opening handshake by hand. It does not read the ID
// message; the caller does.
func dialRaw(t testing.TB, s *server) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.Addr().String(), wait)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(wait))
	req := "GET /ws HTTP/1.1\r\nHost: " + s.Addr().String() + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatalf("write handshake: %v", err)
	}
	r := bufio.NewReaderSize(conn, 64<<10)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("read handshake: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake status %d", resp.StatusCode)
	}
	_ = conn.SetDeadline(time.Time{})
	return &rawClient{conn: conn, r: r}
}

// readFrame reads one server frame (never masked) within wait.
func (c *rawClient) readFrame() (ws.Header, []byte, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	h, err := ws.ReadHeader(c.r)
	if err != nil {
		return h, nil, err
	}
	p := make([]byte, h.Length)
	_, err = io.ReadFull(c.r, p)
	return h, p, err
}

// readID reads the ID message the test server sends first.
func (c *rawClient) readID(t testing.TB) uint64 {
	t.Helper()
	_, p, err := c.readFrame()
	if err != nil {
		t.Fatalf("read ID: %v", err)
	}
	id, err := strconv.ParseUint(strings.TrimPrefix(string(p), idPrefix), 10, 64)
	if err != nil {
		t.Fatalf("first message %q, want %s<id>", p, idPrefix)
	}
	return id
}

// writeFrame sends one masked client frame.
func (c *rawClient) writeFrame(op ws.OpCode, payload []byte) error {
	f := ws.MaskFrame(ws.NewFrame(op, true, payload))
	_ = c.conn.SetWriteDeadline(time.Now().Add(wait))
	return ws.WriteFrame(c.conn, f)
}

// mustJoin joins m to room.
func mustJoin(t testing.TB, h *hub.Hub, m hub.Member, room string) {
	t.Helper()
	if err := h.Join(m, room); err != nil {
		t.Fatalf("Join(%q): %v", room, err)
	}
}

// mustSend sends a text message to m.
func mustSend(t testing.TB, h *hub.Hub, m hub.Member, msg string) {
	t.Helper()
	if err := h.Send(m, ws.OpText, []byte(msg)); err != nil {
		t.Fatalf("Send(%q): %v", msg, err)
	}
}
