package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
)

// TestFlushInterval: with a flush interval, sends made within it waitTimeout for it
// and leave together in one write; without one, a send leaves at once.
func TestFlushInterval(t *testing.T) {
	t.Parallel()
	const interval = 100 * time.Millisecond
	tests := []struct {
		name      string
		interval  time.Duration
		minDelay  time.Duration
		wantOneRd bool
	}{
		{name: "none", interval: 0, minDelay: 0},
		{name: "100ms", interval: interval, minDelay: interval * 8 / 10, wantOneRd: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, engine.Handler{}, engine.WithFlushInterval(tt.interval))
			c := dial(t, s)
			id := c.id
			const n = 10
			start := time.Now()
			var want []byte
			for i := 0; i < n; i++ {
				msg := fmt.Sprint("tick ", i)
				want = append(want, 0x81, byte(len(msg)))
				want = append(want, msg...)
				if err := s.SendTo(id, ws.OpText, []byte(msg)); err != nil {
					t.Fatalf("SendTo: %v", err)
				}
			}
			_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
			buf := make([]byte, 4096)
			got, err := c.R.Read(buf) // one read: what the first segment carried
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			delay := time.Since(start)
			if delay < tt.minDelay {
				t.Errorf("first bytes after %v, want at least %v", delay, tt.minDelay)
			}
			if tt.interval == 0 && delay > interval/2 {
				t.Errorf("first bytes after %v without a flush interval", delay)
			}
			if tt.wantOneRd && string(buf[:got]) != string(want) {
				t.Errorf("first read got %d bytes, want all %d frames in one write (%d bytes)", got, n, len(want))
			}
		})
	}
}
