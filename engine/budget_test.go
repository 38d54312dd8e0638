package engine_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/wstest"
)

// budgetServer serves an echo route whose connections the test gets in
// the order they connect, and records every disconnect by connection.
type budgetServer struct {
	srv   *engine.Server
	addr  string
	conns conns
	mu    sync.Mutex
	gone  map[uint64]*engine.CloseError
}

func startBudget(t *testing.T, opts ...engine.Option) *budgetServer {
	b := &budgetServer{conns: newConns(), gone: make(map[uint64]*engine.CloseError)}
	b.srv, b.addr = serve(t, engine.Handler{
		OnConnect: b.conns.record,
		OnMessage: func(c *engine.Conn, op engine.OpCode, p []byte) { _ = c.Send(op, p) },
		OnDisconnect: func(c *engine.Conn, err error) {
			var ce *engine.CloseError
			errors.As(err, &ce)
			b.mu.Lock()
			b.gone[c.ID()] = ce
			b.mu.Unlock()
		},
	}, opts...)
	return b
}

// closed returns how c ended, nil while it is open.
func (b *budgetServer) closed(c *engine.Conn) *engine.CloseError {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.gone[c.ID()]
}

// TestBufferBudgetOutbound: three clients stop reading and are sent
// different amounts, one far more than the others; past the server's
// buffer budget the largest is closed, first and alone, while a client that
// reads goes on echoing.
func TestBufferBudgetOutbound(t *testing.T) {
	t.Parallel()
	const budget = 2 << 20
	b := startBudget(t, engine.WithMaxBuffered(budget), engine.WithLoops(1))
	var slow []*engine.Conn
	for range 3 {
		dialNonReading(t, b.addr)
		slow = append(slow, b.conns.next(t))
	}
	reader := dialUpgraded(t, b.addr)
	b.conns.next(t)

	// The small ones first: each is sent what its kernel buffers take and
	// then 128 KiB or so that the server holds, well under the budget
	// together.
	msg := make([]byte, 16<<10)
	for i, c := range slow[1:] {
		deadline := time.Now().Add(waitTimeout)
		for c.Backlog() < 128<<10 {
			if time.Now().After(deadline) {
				t.Fatalf("small client %d: backlog %d after %v", i+1, c.Backlog(), waitTimeout)
			}
			if err := c.Send(engine.OpBinary, msg); err != nil {
				time.Sleep(100 * time.Millisecond) // for OnDisconnect
				t.Fatalf("small client %d at backlog %d: %v; closed with %+v; buffered %d", i+1, c.Backlog(), err, b.closed(c), b.srv.Stats().Buffered)
			}
			// A round trip through the loop before the next send: the
			// backlog is read after each flush, and a loop starved of CPU
			// must not get a burst of sends past MaxBacklog at once
			// (PolicyClose would close this client as a slow consumer).
			reader.SendText("sync")
			reader.ExpectText("sync")
		}
	}
	// The large one until it is shed.
	deadline := time.Now().Add(waitTimeout)
	for i := 0; b.closed(slow[0]) == nil; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("after %d MiB sent, the largest client is still open; buffered %d of a %d budget",
				i>>6, b.srv.Stats().Buffered, budget)
		}
		_ = slow[0].Send(engine.OpBinary, msg) // fails once it is closed
		if i%64 == 63 {
			reader.SendText("ping")
			reader.ExpectText("ping")
		}
	}
	ce := b.closed(slow[0])
	if ce.Code != engine.StatusPolicyViolation || ce.Reason != "slow consumer: server buffer budget reached" || ce.Remote {
		t.Errorf("largest client closed with %+v, want 1008 for the budget, by the server", ce)
	}
	for i, c := range slow[1:] {
		if ce := b.closed(c); ce != nil {
			t.Errorf("small client %d closed too: %+v", i+1, ce)
		}
	}
	reader.SendText("after")
	reader.ExpectText("after")
	if st := b.srv.Stats(); st.BudgetShed != 1 || st.Buffered > budget {
		t.Errorf("BudgetShed %d, Buffered %d; want 1 and under %d", st.BudgetShed, st.Buffered, budget)
	}
}

// TestBufferBudgetInbound: a client that sends a fragmented message that
// never ends, past the buffer budget, is closed with 1009 and told why,
// while one with a smaller message in progress and one that echoes are
// left alone.
func TestBufferBudgetInbound(t *testing.T) {
	t.Parallel()
	const budget = 1 << 20
	b := startBudget(t, engine.WithMaxBuffered(budget), engine.WithLoops(1),
		engine.WithMaxMessage(64<<20))
	big := dialUpgraded(t, b.addr)
	bigConn := b.conns.next(t)
	partial := dialUpgraded(t, b.addr)
	partialConn := b.conns.next(t)
	reader := dialUpgraded(t, b.addr)
	b.conns.next(t)

	// 200 KiB of a 1 MiB frame, then nothing more: held in the input buffer.
	head := wstest.Frame{Fin: true, Op: ws.OpBinary, Payload: make([]byte, 1<<20)}.Bytes()
	partial.Write(head[:200<<10])
	reader.SendText("ping")
	reader.ExpectText("ping")

	// The server closes the sender while its fragments still arrive, so a
	// write may meet the reset: the frames go out with errors ignored, and
	// the close frame is what the test reads.
	frag := make([]byte, 64<<10)
	_, _ = big.Conn.Write(wstest.Frame{Op: ws.OpBinary, Payload: frag}.Bytes())
	next := wstest.Frame{Op: ws.OpContinuation, Payload: frag}.Bytes()
	for i := 0; i < 64 && b.closed(bigConn) == nil; i++ { // at most 4 MiB
		if _, err := big.Conn.Write(next); err != nil {
			break
		}
	}
	if reason := big.ExpectClose(ws.StatusMessageTooBig); reason != "message too big for the server's buffer budget" {
		t.Errorf("close reason %q", reason)
	}
	waitFor(t, "the large sender's disconnect", func() bool { return b.closed(bigConn) != nil })
	if ce := b.closed(partialConn); ce != nil {
		t.Errorf("the smaller sender was closed too: %+v", ce)
	}
	reader.SendText("after")
	reader.ExpectText("after")
	if st := b.srv.Stats(); st.BudgetShed != 1 {
		t.Errorf("BudgetShed %d, want 1", st.BudgetShed)
	}
}

// TestBufferBudgetHandshake: a request head still arriving is on the
// budget's books like any partial input, and leaves them with its
// connection, which never opened.
func TestBufferBudgetHandshake(t *testing.T) {
	t.Parallel()
	b := startBudget(t, engine.WithMaxBuffered(64<<20), engine.WithMaxHeaderBytes(1<<20), engine.WithLoops(1))
	c := dialRaw(t, b.addr)
	c.Write([]byte("GET /ws HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("a", 200<<10)))
	waitFor(t, "the partial head on the books", func() bool { return b.srv.Stats().Buffered > 0 })
	_ = c.Close()
	waitFor(t, "the books empty once it is gone", func() bool { return b.srv.Stats().Buffered == 0 })
}
