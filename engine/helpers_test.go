package engine_test

import (
	"bufio"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/wstest"
)

// TestMain fails the package if any goroutine outlives the tests: every
// server is stopped by its test's cleanup, so a goroutine left behind is a
// leak in the engine (per connection, per server or per Stop).
func TestMain(m *testing.M) { wstest.VerifyNoLeaks(m) }

// waitTimeout bounds every wait in this package (see wstest.Timeout).
const waitTimeout = wstest.Timeout

// wsPath is the WebSocket route of every test server.
const wsPath = "/ws"

// The raw client and its frames, from wstest, under short names.
type (
	rawConn = wstest.Conn
	frame   = wstest.Frame
)

var (
	testMask       = wstest.Mask
	testKey        = wstest.Key
	testAccept     = wstest.Accept
	upgradeRequest = wstest.UpgradeRequest
	text           = wstest.Text
	bin            = wstest.Binary
	closeFrame     = wstest.Close
	closeBody      = wstest.CloseBody
	payloadOf      = wstest.Payload
	abbrev         = wstest.Abbrev
	parallelN      = wstest.ParallelN
)

// dialRaw opens a TCP connection to addr, no handshake.
func dialRaw(t testing.TB, addr string) *rawConn { return wstest.DialTCP(t, addr) }

// dialUpgraded opens a connection and completes the opening handshake on
// wsPath.
func dialUpgraded(t testing.TB, addr string) *rawConn { return wstest.Dial(t, addr, wsPath) }

// serve starts a server on 127.0.0.1:0 with h on wsPath and stops it when the
// test ends. It returns the server and its "host:port".
func serve(t testing.TB, h engine.Handler, opts ...engine.Option) (*engine.Server, string) {
	t.Helper()
	srv := engine.New(opts...)
	srv.Handle(wsPath, h)
	return srv, wstest.Start(t, srv)
}

// stopServer stops srv (see wstest.Stop).
func stopServer(t testing.TB, srv *engine.Server) { t.Helper(); wstest.Stop(t, srv) }

// openRecorded serves the recorder's echo handler with opts and connects
// one client: it returns the recorder, the client and the server side.
func openRecorded(t testing.TB, opts ...engine.Option) (*recorder, *rawConn, *engine.Conn) {
	t.Helper()
	rec := newRecorder()
	_, addr := serve(t, rec.handler(), opts...)
	c := dialUpgraded(t, addr)
	return rec, c, rec.conns.next(t)
}

// echo answers every message with the same opcode and bytes.
func echo() engine.Handler {
	return engine.Handler{
		OnMessage: func(c *engine.Conn, op engine.OpCode, p []byte) { _ = c.Send(op, p) },
	}
}

// recordCap is the buffer of conns and disconnects: record runs on an event
// loop and must not block it, so no test records more events than this.
const recordCap = 1024

// disconnects records the errors OnDisconnect receives.
type disconnects chan error

func newDisconnects() disconnects { return make(disconnects, recordCap) }

func (d disconnects) record(_ *engine.Conn, err error) { d <- err }

// next waits for one OnDisconnect and returns its *engine.CloseError.
func (d disconnects) next(t testing.TB) *engine.CloseError {
	t.Helper()
	select {
	case err := <-d:
		var ce *engine.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("OnDisconnect got %T %v, want *engine.CloseError", err, err)
		}
		if engine.CloseStatus(err) != ce.Code {
			t.Errorf("CloseStatus = %d, CloseError.Code = %d", engine.CloseStatus(err), ce.Code)
		}
		return ce
	case <-time.After(waitTimeout):
		t.Fatalf("OnDisconnect did not run within %v", waitTimeout)
		return nil
	}
}

// conns hands the *engine.Conn of each OnConnect to the test.
type conns chan *engine.Conn

func newConns() conns { return make(conns, recordCap) }

func (c conns) record(conn *engine.Conn) { c <- conn }

func (c conns) next(t testing.TB) *engine.Conn {
	t.Helper()
	select {
	case conn := <-c:
		return conn
	case <-time.After(waitTimeout):
		t.Fatalf("OnConnect did not run within %v", waitTimeout)
		return nil
	}
}

// recorder is an echo handler that hands OnConnect's conns and
// OnDisconnect's errors to the test.
type recorder struct {
	conns conns
	gone  disconnects
}

func newRecorder() *recorder { return &recorder{conns: newConns(), gone: newDisconnects()} }

func (r *recorder) handler() engine.Handler {
	h := echo()
	h.OnConnect = r.conns.record
	h.OnDisconnect = r.gone.record
	return h
}

// waitFor polls cond until it holds (see wstest.Eventually).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	wstest.Eventually(t, what, cond)
}

// dialNonReading connects a client with a 4 KiB receive buffer, reads the
// 101 and then reads nothing more until the test does.
func dialNonReading(t *testing.T, addr string) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: waitTimeout, Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		_ = rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return err
	}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	c := wstest.NewConn(t, nc, bufio.NewReaderSize(nc, 4096))
	c.Write([]byte(upgradeRequest(addr, wsPath)))
	c.ExpectUpgrade()
	return c
}
