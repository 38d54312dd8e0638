package engine_test

import (
	"encoding/binary"
	"fmt"
	"sync"
	"testing"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
)

const (
	slowCap   = 256 << 10 // backlog cap of the slow-client tests
	slowFrame = 4 << 10   // payload of each message to the slow client
	slowCount = 1000      // messages to the slow client: 4 MiB, 16x the cap
)

// dialSlow connects a client with a 4 KiB receive buffer that does not
// read until the test says so; it reads its ID message first.
func dialSlow(t *testing.T, s *server) (*client, uint64) {
	t.Helper()
	c := &client{rawConn: dialNonReading(t, s.Addr().String())}
	c.id = c.readID(t)
	return c, c.id
}

// seqMessage is a message numbered i, padded to slowFrame bytes.
func seqMessage(i int) []byte {
	p := make([]byte, slowFrame)
	binary.BigEndian.PutUint32(p, uint32(i))
	return p
}

// TestSlowClientPolicies: a client that does not read, sent 16 times the
// backlog cap, is closed with 1008 (PolicyClose), loses the newest
// messages (PolicyDropNewest) or the oldest (PolicyDropOldest); its backlog
// never passes the cap by more than one message (twice the cap for
// drop-oldest, which also holds frames in the hub), and fast clients in its
// room get everything meanwhile.
func TestSlowClientPolicies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		policy engine.SlowPolicy
		bound  int // largest backlog allowed
	}{
		{policy: engine.PolicyClose, bound: slowCap + slowFrame + 14},
		{policy: engine.PolicyDropNewest, bound: slowCap + slowFrame + 14},
		{policy: engine.PolicyDropOldest, bound: 2 * (slowCap + slowFrame + 14)},
	}
	for _, tt := range tests {
		t.Run(tt.policy.String(), func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var gone []error
			s := startServer(t, engine.Handler{
				OnConnect: func(c *engine.Conn) { _ = c.Join("r") },
				OnDisconnect: func(_ *engine.Conn, err error) {
					mu.Lock()
					gone = append(gone, err)
					mu.Unlock()
				},
			}, engine.WithMaxBacklog(slowCap), engine.WithSlowPolicy(tt.policy))
			fast := dialN(t, s, 20)
			slow, slowID := dialSlow(t, s)
			waitMembers(t, s, "r", 21)
			sc := s.conn(t, slowID)

			maxSeen := 0
			for i := 0; i < slowCount; i++ {
				if err := s.SendTo(slowID, ws.OpBinary, seqMessage(i)); err != nil && tt.policy != engine.PolicyClose {
					t.Fatalf("SendTo %d: %v", i, err) // (under PolicyClose it is gone by now)
				}
				if i%10 == 0 {
					if err := s.Publish("r", ws.OpText, []byte(fmt.Sprint("room ", i/10))); err != nil {
						t.Fatalf("Publish: %v", err)
					}
				}
				maxSeen = max(maxSeen, sc.Backlog())
			}
			for _, c := range fast {
				for i := 0; i < slowCount/10; i++ {
					if got, want := c.read(t), fmt.Sprint("room ", i); got != want {
						t.Fatalf("fast client %d: got %q, want %q", c.id, got, want)
					}
				}
			}
			waitFor(t, "backlog settled", func() bool { maxSeen = max(maxSeen, sc.Backlog()); return true })
			if maxSeen > tt.bound {
				t.Errorf("backlog reached %d bytes, bound %d", maxSeen, tt.bound)
			}
			st := s.Stats()
			if tt.policy == engine.PolicyClose {
				waitFor(t, "slow client closed", func() bool { return s.Stats().SlowClosed == 1 })
				waitFor(t, "OnDisconnect", func() bool { mu.Lock(); defer mu.Unlock(); return len(gone) == 1 })
				mu.Lock()
				err := gone[0]
				mu.Unlock()
				if code := engine.CloseStatus(err); code != ws.StatusPolicyViolation {
					t.Fatalf("OnDisconnect %v, want 1008", err)
				}
				if st.Dropped != 0 {
					t.Errorf("Dropped = %d under PolicyClose", st.Dropped)
				}
				return
			}
			if st.Dropped == 0 || st.SlowClosed != 0 {
				t.Fatalf("Stats %+v: want drops and no slow closes", st)
			}
			// Now read: sequence numbers rise, nothing is lost but what was
			// counted as dropped, and the end marker arrives last.
			if err := s.SendTo(slowID, ws.OpText, []byte("end")); err != nil {
				t.Fatalf("SendTo end: %v", err)
			}
			var seqs []int
			texts := 0 // room messages: the slow client is in the room too
			for {
				h, p, err := slow.ReadFrame()
				if err != nil {
					t.Fatalf("slow client read after %d messages: %v", len(seqs), err)
				}
				if h.OpCode == ws.OpText && string(p) == "end" {
					break
				}
				if h.OpCode == ws.OpBinary {
					seqs = append(seqs, int(binary.BigEndian.Uint32(p)))
				} else {
					texts++
				}
			}
			for i := 1; i < len(seqs); i++ {
				if seqs[i] <= seqs[i-1] {
					t.Fatalf("message %d after %d: out of order", seqs[i], seqs[i-1])
				}
			}
			if got, sent := int64(len(seqs)+texts)+s.Stats().Dropped, int64(slowCount+slowCount/10); got != sent {
				t.Errorf("received %d + %d + dropped %d != sent %d", len(seqs), texts, s.Stats().Dropped, sent)
			}
			switch tt.policy {
			case engine.PolicyDropNewest:
				if seqs[0] != 0 {
					t.Errorf("first message %d, want 0: drop-newest keeps the oldest", seqs[0])
				}
			case engine.PolicyDropOldest:
				if last := seqs[len(seqs)-1]; last != slowCount-1 {
					t.Errorf("last message %d, want %d: drop-oldest keeps the newest", last, slowCount-1)
				}
			}
		})
	}
}

// TestSlowClientAmongThousand: a client that never reads, in a room with
// 1,000 fast ones, is closed with 1008 once its backlog passes the cap; the
// fast ones get every room message.
func TestSlowClientAmongThousand(t *testing.T) {
	t.Parallel()
	s := startServer(t, engine.Handler{
		OnConnect: func(c *engine.Conn) { _ = c.Join("r") },
	}, engine.WithMaxBacklog(slowCap))
	fast := dialN(t, s, 1000)
	_, slowID := dialSlow(t, s)
	waitMembers(t, s, "r", 1001)
	for i := 0; i < slowCount; i++ { // 4 MiB to the slow one only
		if err := s.SendTo(slowID, ws.OpBinary, seqMessage(i)); err != nil {
			break
		}
	}
	const n = 20
	for i := 0; i < n; i++ {
		if err := s.Publish("r", ws.OpText, []byte(fmt.Sprint("m", i))); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	for _, c := range fast {
		for i := 0; i < n; i++ {
			if got, want := c.read(t), fmt.Sprint("m", i); got != want {
				t.Fatalf("fast client %d: got %q, want %q", c.id, got, want)
			}
		}
	}
	waitFor(t, "slow client closed", func() bool { return s.Stats().SlowClosed == 1 })
	waitMembers(t, s, "r", 1000)
}
