package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/wstest"
)

// roomServer serves a chat room: every client joins room "r" on connect and
// every message goes to the whole room. OnConnect files each Conn under its
// ?name= query value.
type roomServer struct {
	mu     sync.Mutex
	byName map[string]*engine.Conn
}

func (rs *roomServer) handler() engine.Handler {
	return engine.Handler{
		OnConnect: func(c *engine.Conn) {
			_ = c.Join("r")
			rs.mu.Lock()
			rs.byName[nameOf(c)] = c
			rs.mu.Unlock()
		},
		OnMessage: func(c *engine.Conn, op engine.OpCode, p []byte) {
			_ = c.Server().Publish("r", op, p)
		},
	}
}

// nameOf returns the ?name= of c's upgrade request.
func nameOf(c *engine.Conn) string {
	q, _ := c.Query()
	return q.Get("name")
}

func (rs *roomServer) conn(name string) *engine.Conn {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.byName[name]
}

func (rs *roomServer) len() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return len(rs.byName)
}

// dialMany opens n clients on wsPath+"?name=<i>", several at a time.
func dialMany(t *testing.T, addr string, n int) []*rawConn {
	t.Helper()
	cs := make([]*rawConn, n)
	errs := make([]error, n)
	parallelN(n, 32, func(i int) {
		cs[i], errs[i] = wstest.DialE(t, addr, fmt.Sprintf("%s?name=%d", wsPath, i))
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("dial %d clients: %v", n, err)
	}
	return cs
}

// expectEach has every client read len(want[i]) messages and compares them
// with want(i), reading several clients at a time.
func expectEach(t *testing.T, cs []*rawConn, want func(i int) []string) {
	t.Helper()
	errs := make([]error, len(cs))
	parallelN(len(cs), 32, func(i int) {
		c := cs[i]
		for k, w := range want(i) {
			typ, p, err := c.ReadMessage()
			if err != nil {
				errs[i] = fmt.Errorf("client %d, message %d: %w", i, k, err)
				return
			}
			if typ != ws.OpText || string(p) != w {
				errs[i] = fmt.Errorf("client %d, message %d: got %d %q, want text %q", i, k, typ, p, w)
				return
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// TestRoomAndBroadcast: 1,000 clients in one room get every published
// message in order; Broadcast reaches all of them and BroadcastExcept all
// but one; Len, Range and Get agree with the clients connected.
func TestRoomAndBroadcast(t *testing.T) {
	t.Parallel()
	const n = 1000
	rs := &roomServer{byName: make(map[string]*engine.Conn)}
	srv, addr := serve(t, rs.handler())
	cs := dialMany(t, addr, n)
	waitFor(t, "every client in the room", func() bool {
		return srv.Members("r") == n && rs.len() == n
	})

	t.Run("Len Range Get", func(t *testing.T) {
		if got := srv.Len(); got != n {
			t.Errorf("Len = %d, want %d", got, n)
		}
		seen := make(map[uint64]bool)
		srv.Range(func(c *engine.Conn) bool {
			if seen[c.ID()] {
				t.Errorf("Range visits ID %d twice", c.ID())
			}
			seen[c.ID()] = true
			if rs.conn(nameOf(c)) != c {
				t.Errorf("Range visits conn %d that OnConnect did not see", c.ID())
			}
			if got, ok := srv.Get(c.ID()); !ok || got != c {
				t.Errorf("Get(%d) = %p, %v; want %p", c.ID(), got, ok, c)
			}
			return true
		})
		if len(seen) != n {
			t.Errorf("Range visited %d connections, want %d", len(seen), n)
		}
		stopped := 0
		srv.Range(func(*engine.Conn) bool { stopped++; return stopped < 10 })
		if stopped != 10 {
			t.Errorf("Range went on for %d calls after fn returned false at 10", stopped)
		}
	})

	t.Run("publish 10 messages in order", func(t *testing.T) {
		var want []string
		for k := range 10 {
			msg := "message " + strconv.Itoa(k)
			want = append(want, msg)
			cs[0].Send(text(msg))
		}
		expectEach(t, cs, func(int) []string { return want })
	})

	t.Run("Broadcast", func(t *testing.T) {
		if err := srv.Broadcast(ws.OpText, []byte("to all")); err != nil {
			t.Fatalf("Broadcast: %v", err)
		}
		expectEach(t, cs, func(int) []string { return []string{"to all"} })
	})

	t.Run("BroadcastExcept", func(t *testing.T) {
		const skip = 17
		except := rs.conn(strconv.Itoa(skip))
		if err := srv.BroadcastExcept(ws.OpText, []byte("not to 17"), except); err != nil {
			t.Fatalf("BroadcastExcept: %v", err)
		}
		// The sentinel shows that client 17 got nothing before it.
		if err := srv.Broadcast(ws.OpText, []byte("sentinel")); err != nil {
			t.Fatalf("Broadcast: %v", err)
		}
		expectEach(t, cs, func(i int) []string {
			if i == skip {
				return []string{"sentinel"}
			}
			return []string{"not to 17", "sentinel"}
		})
	})

	t.Run("Len after clients leave", func(t *testing.T) {
		const leave = 100
		for _, c := range cs[:leave] {
			_ = c.Close()
		}
		waitFor(t, "Len to drop", func() bool { return srv.Len() == n-leave })
		waitFor(t, "the room to shrink", func() bool { return srv.Members("r") == n-leave })
		count := 0
		srv.Range(func(*engine.Conn) bool { count++; return true })
		if count != n-leave {
			t.Errorf("Range visited %d connections, Len is %d", count, n-leave)
		}
		if _, ok := srv.Get(rs.conn("0").ID()); ok {
			t.Errorf("Get finds a closed connection")
		}
		for _, c := range cs[leave:] {
			_ = c.Close()
		}
		waitFor(t, "Len to reach 0", func() bool { return srv.Len() == 0 })
	})
}

// TestLargeBroadcast broadcasts frames above and below the size that the
// hub writes from the frame's own buffer, to clients that read only after
// everything was sent, so that most of it waits in the server's outbound
// buffers; a targeted Send between broadcasts keeps its place.
func TestLargeBroadcast(t *testing.T) {
	t.Parallel()
	const n, rounds = 20, 5
	rs := &roomServer{byName: make(map[string]*engine.Conn)}
	srv, addr := serve(t, rs.handler())
	cs := dialMany(t, addr, n)
	waitFor(t, "every client connected", func() bool { return rs.len() == n })
	first := rs.conn("0")

	type message struct {
		op ws.OpCode
		p  []byte
	}
	var toAll, toFirst []message
	for r := range rounds {
		small := message{op: ws.OpText, p: []byte("small " + strconv.Itoa(r))}
		big := message{op: ws.OpBinary, p: payloadOf(ws.OpBinary, 300<<10+r)}
		big.p[0] = byte(r)
		direct := message{op: ws.OpText, p: []byte("direct " + strconv.Itoa(r))}
		for _, m := range []message{small, big} {
			if err := srv.Broadcast(m.op, m.p); err != nil {
				t.Fatalf("Broadcast: %v", err)
			}
		}
		if err := first.Send(direct.op, direct.p); err != nil {
			t.Fatalf("Send: %v", err)
		}
		toAll = append(toAll, small, big)
		toFirst = append(toFirst, small, big, direct)
	}

	errs := make([]error, n)
	parallelN(n, n, func(i int) {
		want := toAll
		if i == 0 {
			want = toFirst
		}
		for k, w := range want {
			typ, p, err := cs[i].ReadMessage()
			if err != nil {
				errs[i] = fmt.Errorf("client %d, message %d: %w", i, k, err)
				return
			}
			if typ != w.op || !bytes.Equal(p, w.p) {
				errs[i] = fmt.Errorf("client %d, message %d: got %d %s, want %d %s", i, k, typ, abbrev(p), w.op, abbrev(w.p))
				return
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}
