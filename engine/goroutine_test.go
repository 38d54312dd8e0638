package engine_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/internal/wstest"
)

// dialRawUpgraded opens a TCP connection and completes the opening
// handshake with plain writes and one read; no goroutine is left behind.
func dialRawUpgraded(addr string) (net.Conn, *bufio.Reader, error) {
	nc, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		return nil, nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(2 * waitTimeout))
	if _, err := nc.Write([]byte(upgradeRequest(addr, wsPath))); err != nil {
		_ = nc.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		_ = nc.Close()
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		_ = nc.Close()
		return nil, nil, fmt.Errorf("status %s", resp.Status)
	}
	_ = nc.SetDeadline(time.Time{})
	return nc, br, nil
}

// TestNoGoroutinePerConnection opens 5,000 WebSocket connections and checks
// that the process did not gain a goroutine per connection. Not parallel:
// it counts the goroutines of the whole process, and it uses 10,000 fds.
func TestNoGoroutinePerConnection(t *testing.T) {
	const n = 5000
	srv, addr := serve(t, echo())
	before := runtime.NumGoroutine()

	ncs := make([]net.Conn, n)
	brs := make([]*bufio.Reader, n)
	errs := make([]error, n)
	parallelN(n, 32, func(i int) { ncs[i], brs[i], errs[i] = dialRawUpgraded(addr) })
	t.Cleanup(func() {
		for _, nc := range ncs {
			if nc != nil {
				_ = nc.Close()
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("open %d connections: %v", n, err)
	}
	waitFor(t, "Len to reach 5000", func() bool { return srv.Len() == n })

	grew := runtime.NumGoroutine() - before
	t.Logf("%d open connections, goroutines %d -> %d", srv.Len(), before, before+grew)
	if grew >= 100 {
		t.Errorf("goroutines grew by %d with %d connections, want < 100", grew, n)
	}

	// The connections work: a few of them, spread over all, echo.
	for _, i := range []int{0, 1, n / 2, n - 2, n - 1} {
		c := wstest.NewConn(t, ncs[i], brs[i])
		msg := fmt.Sprintf("conn %d", i)
		c.Send(text(msg))
		c.ExpectFrame(ws.OpText, []byte(msg))
	}

	for _, nc := range ncs {
		_ = nc.Close()
	}
	waitFor(t, "Len to return to 0", func() bool { return srv.Len() == 0 })
}
