package engine_test

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/wstest"
)

// The memory bound: clients that never read, each sent far more than its
// backlog cap in frames whose size gnet rounds up the most (1,028 bytes,
// kept in 2,048), hold at most their cap each in live heap, plus a
// constant. The server runs in a child process (this test binary) so that
// the heap it measures is its own.
// boundConst is what the server may hold besides the clients' backlogs:
// each loop's arena, kept up to 4 MiB between flushes, and the rest.
const (
	boundClients = 24
	boundCap     = 2 << 20
	boundConst   = 2*(4<<20) + 4<<20
)

func TestMemoryBound(t *testing.T) {
	t.Parallel()
	if os.Getenv("WSHUB_MEMBOUND_CHILD") != "" {
		t.Skip("in the child")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestMemoryBoundChild$", "-test.v")
	cmd.Env = append(os.Environ(), "WSHUB_MEMBOUND_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestMemoryBoundChild") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "live heap") {
			t.Log(strings.TrimSpace(l))
		}
	}
}

func TestMemoryBoundChild(t *testing.T) {
	if os.Getenv("WSHUB_MEMBOUND_CHILD") == "" {
		t.Skip("run by TestMemoryBound")
	}
	tests := []struct {
		name    string
		payload int
	}{
		{name: "1028-byte frames", payload: 1024},   // kept in 2,048 bytes each
		{name: "small frames", payload: 100},        // coalesced in the arena, pieces of many frames
		{name: "large frames", payload: 16<<10 + 1}, // written from their own buffer, kept in 32 KiB
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { memoryBound(t, tt.payload) })
	}
}

func memoryBound(t *testing.T, payload int) {
	srv, addr := serve(t, engine.Handler{}, engine.WithLoops(2), engine.WithMaxBacklog(boundCap),
		engine.WithSlowPolicy(engine.PolicyDropNewest))
	for range boundClients {
		dialNonReading(t, addr)
	}
	waitFor(t, "every client connected", func() bool { return srv.Len() == boundClients })
	base := liveHeap()

	msg := make([]byte, payload)
	deadline := time.Now().Add(wstest.Timeout)
	// Until every client is held near its cap and messages are being
	// dropped: more than the cap has been sent to each.
	held := func() bool {
		least := -1
		srv.Range(func(c *engine.Conn) bool {
			if b := c.Backlog(); least < 0 || b < least {
				least = b
			}
			return true
		})
		return least >= boundCap/4 && srv.Stats().Dropped >= boundClients*50
	}
	for i := 0; ; i++ {
		if i%32 == 31 {
			time.Sleep(time.Millisecond) // the loops write as they go: arenas stay small
			if held() {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d messages, %d dropped: the clients never reached their cap", i, srv.Stats().Dropped)
		}
		if err := srv.Broadcast(ws.OpBinary, msg); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	grown := liveHeap() - base
	var backlog int
	srv.Range(func(c *engine.Conn) bool { backlog += c.Backlog(); return true })
	bound := boundClients*(boundCap+payload+64<<10) + boundConst
	t.Logf("live heap +%d KiB for %d clients at a %d KiB cap (%.2f x clients x cap; bound %d KiB); %d KiB buffered",
		grown>>10, boundClients, boundCap>>10, float64(grown)/(boundClients*boundCap), bound>>10, backlog>>10)
	if grown > bound {
		t.Errorf("live heap grew by %d KiB, over %d KiB", grown>>10, bound>>10)
	}
}

// liveHeap returns the bytes of live heap, after the pools are emptied.
func liveHeap() int {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int(m.HeapAlloc)
}
