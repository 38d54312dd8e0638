package hub_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/codec"
	"github.com/wshub/wshub/internal/hub"
)

// The fakes: a loop that runs its tasks when the test says so, and sockets
// that record what is written. The test goroutine plays the event loop:
// it runs the hub's loop-only calls inside steps (Enter ... Leave), as the
// engine does in its gnet callbacks, and calls from "other goroutines" are
// simply calls outside a step, whose drain waits in the fake loop until run.

// fakeLoop queues the tasks the hub hands it.
type fakeLoop struct {
	mu       sync.Mutex
	tasks    []hub.Task
	executes int  // Execute calls: wake-ups of a real loop
	stopped  bool // Execute fails, as on a loop that has ended
}

var errLoopStopped = errors.New("fake loop stopped")

func (l *fakeLoop) Execute(t hub.Task) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return errLoopStopped
	}
	l.tasks = append(l.tasks, t)
	l.executes++
	return nil
}

// run runs the queued tasks, and those they queue, on the caller's
// goroutine: the loop's.
func (l *fakeLoop) run() {
	for {
		l.mu.Lock()
		tasks := l.tasks
		l.tasks = nil
		l.mu.Unlock()
		if len(tasks) == 0 {
			return
		}
		for _, t := range tasks {
			_ = t.Run(context.Background())
		}
	}
}

func (l *fakeLoop) wakeups() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.executes
}

// fakeConn is a connection: the hub's part and its socket.
type fakeConn struct {
	hc   hub.Conn
	sock fakeSocket
}

// fakeSocket records writes. The kernel takes at most take bytes in all
// (negative: everything); the rest stays buffered, as gnet buffers it.
type fakeSocket struct {
	r        *rig
	c        *fakeConn
	wire     []byte // what the kernel took
	buffered []byte // what it did not
	take     int
	writes   int // write(2) and writev(2) calls
	shut     bool
	closed   bool
	gone     hub.Why
	attached bool
}

func (s *fakeSocket) Write(b []byte) (int, error) { s.writes++; s.accept(b); return len(b), nil }

func (s *fakeSocket) Writev(bs [][]byte) (int, error) {
	s.writes++
	n := 0
	for _, b := range bs {
		s.accept(b)
		n += len(b)
	}
	return n, nil
}

func (s *fakeSocket) accept(b []byte) {
	if s.closed || s.shut {
		s.r.t.Errorf("write of %d bytes after the socket was closed or shut", len(b))
	}
	s.buffered = append(s.buffered, b...)
	s.drain()
}

// drain moves buffered bytes to the wire as far as take allows.
func (s *fakeSocket) drain() {
	n := len(s.buffered)
	if s.take >= 0 {
		n = min(n, s.take-len(s.wire))
	}
	s.wire = append(s.wire, s.buffered[:n]...)
	s.buffered = s.buffered[n:]
}

func (s *fakeSocket) Buffered() int        { return len(s.buffered) }
func (s *fakeSocket) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }

func (s *fakeSocket) CloseWrite() bool {
	s.shut = true
	return true
}

// Close closes the connection and, as gnet's OnClose does through the
// engine, reports it to the hub at once, in a nested step.
func (s *fakeSocket) Close() {
	if s.closed {
		s.r.t.Errorf("socket closed twice")
	}
	s.closed = true
	s.r.step(func() { s.gone, s.attached = s.r.h.Gone(&s.c.hc, nil) })
}

// frames decodes what the kernel took.
func (s *fakeSocket) frames(t *testing.T) []frame {
	t.Helper()
	var out []frame
	d := codec.Decoder{Client: true, MaxMessage: 64 << 20}
	b := s.wire
	for len(b) > 0 {
		m, n, err := d.Decode(b)
		if err != nil {
			t.Fatalf("the hub wrote an invalid frame: %v", err)
		}
		if m.OpCode == 0 {
			t.Fatalf("the hub wrote %d bytes that are not whole frames", len(b))
		}
		f := frame{op: m.OpCode, payload: string(m.Payload)}
		if m.OpCode == ws.OpClose {
			f.payload, f.code = m.CloseReason, m.CloseCode
		}
		out = append(out, f)
		b = b[n:]
	}
	return out
}

// frame is a server frame as the tests compare it.
type frame struct {
	op      ws.OpCode
	payload string
	code    ws.StatusCode // close frames
}

func txt(s string) frame { return frame{op: ws.OpText, payload: s} }
func closing(code ws.StatusCode, r string) frame {
	return frame{op: ws.OpClose, payload: r, code: code}
}

// rig is a hub on one fake loop.
type rig struct {
	t    *testing.T
	h    *hub.Hub
	loop *fakeLoop
	sh   *hub.Shard // the loop's shard, known once a connection opened
}

func newRig(t *testing.T, cfg hub.Config) *rig {
	t.Helper()
	r := &rig{t: t, h: hub.New(cfg), loop: &fakeLoop{}}
	t.Cleanup(r.h.Stop)
	return r
}

// step runs fn on the loop, bracketed as the engine brackets a callback.
func (r *rig) step(fn func()) {
	r.sh.Enter()
	fn()
	r.sh.Leave()
}

// open accepts a connection and, unless handshake, completes its upgrade.
func (r *rig) open(handshake bool) *fakeConn {
	c := &fakeConn{}
	c.sock = fakeSocket{r: r, c: c, take: -1}
	r.h.Open(&c.hc, r.loop, &c.sock, c)
	r.sh = c.hc.Shard()
	if !handshake {
		r.step(func() { r.h.Attach(&c.hc) })
	}
	return c
}

// openN opens n connections.
func (r *rig) openN(n int) []*fakeConn {
	cs := make([]*fakeConn, n)
	for i := range cs {
		cs[i] = r.open(false)
	}
	return cs
}

// eventually runs the loop's tasks until cond holds or a second passes.
func (r *rig) eventually(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		r.loop.run()
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
