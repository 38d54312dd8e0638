package engine_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/wstest"
)

// The helpers of the rooms, ordering and slow-client tests: a server whose
// first message to each client is the connection's ID, so a client knows
// its server side, and clients that read strings.

// idPrefix starts the first message every test server sends: the ID the
// server gave the connection. A client that has read it knows it is open.
const idPrefix = "id:"

// marker ends what a test expects a client to receive: it is sent to every
// client after the calls under test, so the messages before it are all the
// client got from them.
const marker = "marker"

// server is an engine.Server on 127.0.0.1:0 serving /ws, and /hold, whose
// OnMessage blocks its event loop until the test releases it.
type server struct {
	*engine.Server
	holds sync.Map // key -> *hold
}

type hold struct{ held, release chan struct{} }

// startServer starts a server whose OnConnect first sends the connection's
// ID, then runs h.OnConnect. It stops when the test ends, after the clients
// dialled later have been closed.
func startServer(t testing.TB, h engine.Handler, opts ...engine.Option) *server {
	t.Helper()
	opts = append([]engine.Option{engine.WithCloseTimeout(wstest.Timeout / 10)}, opts...)
	s := &server{Server: engine.New(opts...)}
	onConnect := h.OnConnect
	h.OnConnect = func(c *engine.Conn) {
		if err := c.SendText(idPrefix + strconv.FormatUint(c.ID(), 10)); err != nil {
			panic(err)
		}
		if onConnect != nil {
			onConnect(c)
		}
	}
	s.Handle("/ws", h)
	s.Handle("/hold", engine.Handler{OnMessage: func(_ *engine.Conn, _ engine.OpCode, p []byte) {
		if v, ok := s.holds.Load(string(p)); ok {
			close(v.(*hold).held)
			<-v.(*hold).release
		}
	}})
	wstest.Start(t, s.Server)
	return s
}

// holdLoop blocks the event loop of a new connection (the only loop, with
// WithLoops(1)) and returns once it is held; release lets it go on. What is
// queued meanwhile for that loop's connections is applied and written in
// one step when it goes on.
func (s *server) holdLoop(t testing.TB) (release func()) {
	t.Helper()
	key := t.Name() + strconv.Itoa(len(t.Name())) + fmt.Sprint(&s)
	h := &hold{held: make(chan struct{}), release: make(chan struct{})}
	s.holds.Store(key, h)
	c := wstest.Dial(t, s.Addr().String(), "/hold")
	c.SendText(key)
	<-h.held
	var once sync.Once
	release = func() { once.Do(func() { close(h.release) }) }
	t.Cleanup(release)
	return release
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

// client is a test client that has read its ID.
type client struct {
	*rawConn
	id uint64
}

// dial connects a client and reads its ID. It is closed when the test ends.
func dial(t testing.TB, s *server) *client {
	t.Helper()
	c := &client{rawConn: wstest.Dial(t, s.Addr().String(), "/ws")}
	c.id = c.readID(t)
	return c
}

// dialN dials n clients, several at a time.
func dialN(t testing.TB, s *server, n int) []*client {
	t.Helper()
	cs := make([]*client, n)
	errs := make([]error, n)
	parallelN(n, 16, func(i int) {
		rc, err := wstest.DialE(t, s.Addr().String(), "/ws")
		if err != nil {
			errs[i] = err
			return
		}
		c := &client{rawConn: rc}
		msg, err := c.next()
		if err == nil {
			c.id, err = parseID(msg)
		}
		cs[i], errs[i] = c, err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("dial %d clients: %v", n, err)
		}
	}
	return cs
}

func parseID(msg string) (uint64, error) {
	id, err := strconv.ParseUint(strings.TrimPrefix(msg, idPrefix), 10, 64)
	if err != nil || !strings.HasPrefix(msg, idPrefix) {
		return 0, fmt.Errorf("first message %q, want %s<id>", msg, idPrefix)
	}
	return id, nil
}

// readID reads the ID message the test server sends first.
func (c *client) readID(t testing.TB) uint64 {
	t.Helper()
	id, err := parseID(c.read(t))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// next returns the next message as a string. Safe from any goroutine.
func (c *client) next() (string, error) {
	_, p, err := c.ReadMessage()
	return string(p), err
}

// read returns the next message as a string.
func (c *client) read(t testing.TB) string {
	t.Helper()
	msg, err := c.next()
	if err != nil {
		t.Fatalf("client %d: read: %v", c.id, err)
	}
	return msg
}

// readUntil returns the messages before marker, marker excluded.
func (c *client) readUntil(t testing.TB, marker string) []string {
	t.Helper()
	got, err := c.until(marker)
	if err != nil {
		t.Fatalf("client %d: read after %d messages: %v", c.id, len(got), err)
	}
	return got
}

// until is readUntil for any goroutine.
func (c *client) until(marker string) ([]string, error) {
	var got []string
	for {
		m, err := c.next()
		if err != nil || m == marker {
			return got, err
		}
		got = append(got, m)
	}
}

// waitMembers waits until room has want members.
func waitMembers(t testing.TB, s *server, room string, want int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("Members(%q) == %d", room, want), func() bool { return s.Members(room) == want })
}

// waitLen waits until the server has want connections.
func waitLen(t testing.TB, s *server, want int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("Len() == %d", want), func() bool { return s.Len() == want })
}

// mustJoin joins c to room.
func mustJoin(t testing.TB, c *engine.Conn, room string) {
	t.Helper()
	if err := c.Join(room); err != nil {
		t.Fatalf("Join(%q): %v", room, err)
	}
}

// mustSend sends a text message to c.
func mustSend(t testing.TB, c *engine.Conn, msg string) {
	t.Helper()
	if err := c.Send(ws.OpText, []byte(msg)); err != nil {
		t.Fatalf("Send(%q): %v", msg, err)
	}
}
