package engine_test

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
)

// TestTwoLoops serves many clients on two event loops and checks that
// broadcasts and publishes reach the connections of both.
func TestTwoLoops(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		clients int
		msgs    int
	}{
		{name: "two clients", clients: 2, msgs: 50},
		{name: "many clients", clients: 301, msgs: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, engine.Handler{}, engine.WithLoops(2))
			cs := dialN(t, s, tt.clients)
			waitLen(t, s, tt.clients)
			checkBothLoopsServe(t, s, cs)

			except := s.conn(t, cs[0].id)
			for _, c := range cs {
				mustJoin(t, s.conn(t, c.id), "all")
			}
			waitMembers(t, s, "all", tt.clients)
			for i := range tt.msgs {
				msg := []byte(fmt.Sprint(i))
				var err error
				switch i % 3 {
				case 0:
					err = s.Broadcast(ws.OpText, msg)
				case 1:
					err = s.Publish("all", ws.OpText, msg)
				case 2:
					err = s.PublishExcept("all", ws.OpText, msg, except)
				}
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			if err := s.Broadcast(ws.OpText, []byte(marker)); err != nil {
				t.Fatal(err)
			}
			var all, most []string
			for i := range tt.msgs {
				all = append(all, fmt.Sprint(i))
				if i%3 != 2 {
					most = append(most, fmt.Sprint(i))
				}
			}
			var wg sync.WaitGroup
			for i, c := range cs {
				want := all
				if i == 0 {
					want = most
				}
				wg.Go(func() {
					got, err := readUntilMarker(c)
					if err != nil {
						t.Errorf("client %d: %v", i, err)
					} else if !slices.Equal(got, want) {
						t.Errorf("client %d: got %d messages, want %d", i, len(got), len(want))
					}
				})
			}
			wg.Wait()
		})
	}
}

// checkBothLoopsServe holds one loop, broadcasts a probe and checks
// that some clients (those of the other loop) get it while the first loop is
// held, and the others only after it is released.
func checkBothLoopsServe(t *testing.T, s *server, cs []*client) {
	t.Helper()
	release := s.holdLoop(t)
	var arrived atomic.Int64
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() {
			if p, err := c.next(); err != nil || p != "probe" {
				t.Errorf("client %d: got %q, %v; want probe", c.id, p, err)
			}
			arrived.Add(1)
		})
	}
	if err := s.Broadcast(ws.OpText, []byte("probe")); err != nil {
		t.Fatal(err)
	}
	// Wait until the arrivals from the free loop have settled.
	deadline := time.Now().Add(waitTimeout)
	for last := int64(-1); ; {
		time.Sleep(100 * time.Millisecond)
		n := arrived.Load()
		if (n > 0 && n == last) || time.Now().After(deadline) {
			break
		}
		last = n
	}
	early := arrived.Load()
	t.Logf("%d of %d clients got the probe while one loop was held", early, len(cs))
	release()
	wg.Wait()
	if early == 0 || early == int64(len(cs)) {
		t.Errorf("%d of %d clients got the probe while one loop was held; want some but not all", early, len(cs))
	}
}

// readUntilMarker reads messages up to marker; it may run outside the test
// goroutine.
func readUntilMarker(c *client) ([]string, error) { return c.until(marker) }
