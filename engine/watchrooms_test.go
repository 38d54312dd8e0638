package engine_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/wstest"
)

// TestNodeID: every connection ID carries the server's node ID in its top
// 16 bits, so servers with distinct node IDs never share an ID.
func TestNodeID(t *testing.T) {
	t.Parallel()
	for _, node := range []uint16{0, 7, 0xffff} {
		rec := newRecorder()
		srv := engine.New(engine.WithNodeID(node))
		srv.Handle(wsPath, rec.handler())
		addr := wstest.Start(t, srv)
		if srv.NodeID() != node {
			t.Fatalf("NodeID() = %d, want %d", srv.NodeID(), node)
		}
		seen := map[uint64]bool{}
		for range 3 {
			dialUpgraded(t, addr)
			id := rec.conns.next(t).ID()
			if id>>48 != uint64(node) || id&(1<<48-1) == 0 || seen[id] {
				t.Fatalf("node %d: ID %#x", node, id)
			}
			seen[id] = true
		}
	}
}

// TestWatchRooms: the watcher runs when a room gets its first member and
// when it loses its last (by Leave or by a disconnect), not for the
// members in between, and Members is already up to date when it runs.
func TestWatchRooms(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var events []string
	rec := newRecorder()
	srv := engine.New(engine.WithLoops(2))
	srv.Handle(wsPath, rec.handler())
	srv.WatchRooms(func(room string) {
		mu.Lock()
		events = append(events, fmt.Sprintf("%s=%d", room, srv.Members(room)))
		mu.Unlock()
	})
	addr := wstest.Start(t, srv)
	got := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), events...)
	}
	want := func(what string, w ...string) {
		t.Helper()
		waitFor(t, what, func() bool { return fmt.Sprint(got()) == fmt.Sprint(w) })
	}
	a, b := dialUpgraded(t, addr), dialUpgraded(t, addr)
	ca, cb := rec.conns.next(t), rec.conns.next(t)
	mustJoin(t, ca, "r")
	want("first member", "r=1")
	mustJoin(t, cb, "r")
	waitFor(t, "second member counted", func() bool { return srv.Members("r") == 2 })
	if err := ca.Leave("r"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one left", func() bool { return srv.Members("r") == 1 })
	if len(got()) != 1 {
		t.Fatalf("events %v after a second join and a leave, want only the first join", got())
	}
	_ = b.Close() // the last member goes with its connection
	want("last member gone", "r=1", "r=0")
	_ = a
}
