package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/internal/wstest"
)

// TestDescriptorLimit runs the server under "ulimit -n 256" and opens
// connections until it refuses them: the ones it holds keep working, new
// ones get a clean 503, a raw TCP flood that never handshakes does not take
// it down, and once connections close it accepts again.
func TestDescriptorLimit(t *testing.T) {
	t.Parallel()
	p := startLimited(t, 256, "-addr", "127.0.0.1:0", "-log-level", "subtle")
	var held []*wstest.Conn
	var refusal string
	for range 300 {
		c, err := wstest.DialE(t, p.addr, "/echo")
		if err != nil {
			refusal = err.Error()
			break
		}
		held = append(held, c)
	}
	if len(held) < 100 || len(held) >= 256 || !strings.Contains(refusal, "503") {
		t.Fatalf("held %d, then %q; want over 100 held under a 256 limit, then a 503", len(held), refusal)
	}
	echoAll(t, held)

	// A flood of sockets that never handshake, then the limit is hit again.
	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			_ = c.Close()
		}
	}()
	shed := 0
	for range 400 {
		c, err := net.DialTimeout("tcp", p.addr, wstest.Timeout)
		if err != nil {
			t.Fatalf("dial %d: %v", len(flood), err)
		}
		flood = append(flood, c)
	}
	for _, c := range flood {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if b, _ := io.ReadAll(c); strings.HasPrefix(string(b), "HTTP/1.1 503") {
			shed++
		}
	}
	if shed < 100 {
		t.Errorf("%d of 400 idle sockets got the canned 503 at once", shed)
	}
	echoAll(t, held)
	if _, err := wstest.DialE(t, p.addr, "/echo"); err == nil {
		t.Fatal("a handshake succeeded with the table full")
	}

	// Descriptors free up: accepting resumes.
	for _, c := range flood {
		_ = c.Close()
	}
	flood = nil
	for _, c := range held[:20] {
		_ = c.Close()
	}
	wstest.Eventually(t, "a new connection is served", func() bool {
		c, err := wstest.DialE(t, p.addr, "/echo")
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	})
	echoAll(t, held[20:])
	if !strings.Contains(p.stderr.String(), "connection shed") {
		t.Errorf("no shed logged:\n%s", tail(p.stderr.String()))
	}
	select {
	case <-p.done:
		t.Fatalf("wshub exited: %v\n%s", p.err, tail(p.stderr.String()))
	default:
	}
}

func echoAll(t *testing.T, conns []*wstest.Conn) {
	t.Helper()
	for i, c := range conns {
		m := message{op: ws.OpText, data: "still here"}
		write(t, c, m)
		if got := readAs(t, "held", c); got != m {
			t.Fatalf("held connection %d got %v", i, got)
		}
	}
}

func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}

// TestStatsOptIn: /stats is served only with -stats.
func TestStatsOptIn(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args   []string
		status int
	}{
		{nil, http.StatusNotFound},
		{[]string{"-stats"}, http.StatusOK},
	} {
		p := startWshub(t, append([]string{"-addr", "127.0.0.1:0", "-log-level", "nothing"}, tt.args...)...)
		resp, err := http.Get("http://" + p.addr + "/stats")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%v: /stats %d, want %d", tt.args, resp.StatusCode, tt.status)
		}
	}
}
