package engine_test

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
)

// The hub benchmarks: one message to many connections (Broadcast, a room
// Publish) and to one (SendTo), measured until the last byte arrived.

// benchSizes are the numbers of connected clients. Allocations per op must
// be the same for each: a recipient costs no allocation.
var benchSizes = []int{100, 1000}

// benchPayload is the message every benchmark sends; its frame is 2 bytes
// longer (header without mask, payload under 126 bytes).
var benchPayload = make([]byte, 64)

const benchFrame = 64 + 2

// warmup ops run before the timer starts, so that pools, the arena and the
// shards' queues have reached their working size.
const warmup = 200

// fleet is a server and n raw clients, each draining its socket into
// io.Discard in its own goroutine and counting bytes.
type fleet struct {
	s       *server
	ids     []uint64
	members []*engine.Conn
	conns   []*client
	sinks   []*sink
	adds    []int64 // per client: bytes the current round sends it
	left    atomic.Int64
	done    chan struct{}
	readers sync.WaitGroup
}

// sink is one client's byte count and its target.
type sink struct {
	got  atomic.Int64
	want atomic.Int64
}

// cleanupOn is a sub-benchmark's TB whose cleanups run when owner ends,
// so that a fleet outlives the sub-benchmark's runs.
type cleanupOn struct {
	testing.TB
	owner testing.TB
}

func (c cleanupOn) Cleanup(fn func()) { c.owner.Cleanup(fn) }

func newFleet(b testing.TB, n int) *fleet {
	b.Helper()
	s := startServer(b, engine.Handler{})
	f := &fleet{s: s, done: make(chan struct{}, 1), adds: make([]int64, n)}
	for range n {
		rc := dial(b, s)
		id := rc.id
		sk := &sink{}
		f.ids = append(f.ids, id)
		f.members = append(f.members, s.conn(b, id))
		f.sinks = append(f.sinks, sk)
		f.conns = append(f.conns, rc)
		f.readers.Go(func() { f.drain(rc, sk) })
	}
	waitLen(b, s, n)
	return f
}

// drain reads rc until it is closed, counting bytes, and reports when the
// count reaches the sink's current target.
func (f *fleet) drain(rc *client, sk *sink) {
	_ = rc.SetReadDeadline(time.Time{})
	buf := make([]byte, 32<<10)
	var reached int64
	for {
		n, err := rc.R.Read(buf)
		_, _ = io.Discard.Write(buf[:n])
		got := sk.got.Add(int64(n))
		if w := sk.want.Load(); got >= w && w > reached {
			reached = w
			if f.left.Add(-1) == 0 {
				f.done <- struct{}{}
			}
		}
		if err != nil {
			return
		}
	}
}

// window is the most ops a round sends before it waits for them to
// arrive: 1 MiB per client at most, well under the backlog cap, so that a
// large b.N measures delivery rather than the slow-client policy.
const window = (1 << 20) / benchFrame

// round runs send(i) for i in [0, ops) and waits until every client has
// received every byte, a window at a time. to(i) is the index of the client
// op i reaches, or -1 for all of them.
func (f *fleet) round(b *testing.B, ops int, send func(i int) error, to func(i int) int) {
	for start := 0; start < ops; start += window {
		f.window(b, start, min(start+window, ops), send, to)
	}
}

// window runs send(i) for i in [start, end) and waits for it to arrive.
func (f *fleet) window(b *testing.B, start, end int, send func(i int) error, to func(i int) int) {
	clear(f.adds)
	for i := start; i < end; i++ {
		if k := to(i); k >= 0 {
			f.adds[k] += benchFrame
		} else {
			for k := range f.adds {
				f.adds[k] += benchFrame
			}
		}
	}
	receivers := int64(0)
	for _, a := range f.adds {
		if a > 0 {
			receivers++
		}
	}
	if receivers == 0 {
		return
	}
	f.left.Store(receivers)
	for k, a := range f.adds {
		if a > 0 {
			f.sinks[k].want.Add(a)
		}
	}
	for i := start; i < end; i++ {
		if err := send(i); err != nil {
			b.Fatalf("op %d: %v", i, err)
		}
	}
	t := time.NewTimer(waitTimeout)
	defer t.Stop()
	select {
	case <-f.done:
	case <-t.C:
		b.Fatalf("clients did not receive everything within %v: %d left", waitTimeout, f.left.Load())
	}
}

// bench measures send: warm-up, then b.N ops until the last byte arrived.
func (f *fleet) bench(b *testing.B, send func(i int) error, to func(i int) int) {
	f.round(b, warmup, send, to)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	f.round(b, b.N, send, to)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	deliveries := 0
	for i := range b.N {
		if to(i) >= 0 {
			deliveries++
		} else {
			deliveries += len(f.sinks)
		}
	}
	b.ReportMetric(float64(deliveries)/b.Elapsed().Seconds(), "deliveries/s")
	// allocs/op above is rounded down; these are exact, over the whole
	// process (server loops and client readers included).
	mallocs := float64(after.Mallocs - before.Mallocs)
	b.ReportMetric(mallocs/float64(b.N), "mallocs/op")
	b.ReportMetric(mallocs/float64(deliveries), "mallocs/delivery")
}

// close disconnects the clients and waits for their readers.
func (f *fleet) close(b *testing.B) {
	for _, rc := range f.conns {
		_ = rc.Close()
	}
	f.readers.Wait()
	waitLen(b, f.s, 0)
}

// runFleets runs fn as a sub-benchmark for every size in benchSizes. A
// size's fleet is built on the sub-benchmark's first run (not at all if
// -bench leaves it out) and shared by its later runs.
func runFleets(b *testing.B, fn func(b *testing.B, f *fleet)) {
	for _, n := range benchSizes {
		var f *fleet
		b.Run(fmt.Sprintf("clients=%d", n), func(sub *testing.B) {
			if f == nil {
				f = newFleet(cleanupOn{TB: sub, owner: b}, n)
			}
			fn(sub, f)
		})
		if f != nil {
			f.close(b)
		}
	}
}

func all(int) int { return -1 }

func BenchmarkBroadcast(b *testing.B) {
	runFleets(b, func(b *testing.B, f *fleet) {
		f.bench(b, func(int) error { return f.s.Broadcast(ws.OpBinary, benchPayload) }, all)
	})
}

func BenchmarkPublish(b *testing.B) {
	runFleets(b, func(b *testing.B, f *fleet) {
		for _, m := range f.members {
			if err := m.Join("bench"); err != nil {
				b.Fatal(err)
			}
		}
		waitMembers(b, f.s, "bench", len(f.members))
		f.bench(b, func(int) error { return f.s.Publish("bench", ws.OpBinary, benchPayload) }, all)
	})
}

func BenchmarkSendTo(b *testing.B) {
	runFleets(b, func(b *testing.B, f *fleet) {
		n := len(f.ids)
		f.bench(b, func(i int) error {
			err := f.s.SendTo(f.ids[i%n], ws.OpBinary, benchPayload)
			if errors.Is(err, engine.ErrNotFound) {
				return fmt.Errorf("client %d: %w", i%n, err)
			}
			return err
		}, func(i int) int { return i % n })
	})
}
