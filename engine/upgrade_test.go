package engine_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/wstest"
)

// request sends an upgrade request for path with extra header lines on a
// fresh connection and returns the response and its body.
func request(t *testing.T, addr, path string, extra ...string) (*http.Response, string, *rawConn) {
	t.Helper()
	c := dialRaw(t, addr)
	c.Write([]byte(upgradeRequest(addr, path, extra...)))
	resp := c.Response()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body), c
}

// TestUpgradeDecisions covers what OnUpgrade can answer, decided inside
// the hook: the client sees exactly that response.
func TestUpgradeDecisions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		extra    []string
		protos   []string
		decide   func(u *engine.Upgrade) error
		status   int
		header   map[string]string
		body     string
		wantErr  error
		protocol string // Conn.Protocol on the server
	}{
		{
			name: "refuse 401 with WWW-Authenticate",
			decide: func(u *engine.Upgrade) error {
				return u.Refuse(401, http.Header{"Www-Authenticate": {`Bearer realm="game"`}}, "bad token")
			},
			status: 401, header: map[string]string{"WWW-Authenticate": `Bearer realm="game"`, "X-Content-Type-Options": "nosniff", "Content-Type": "text/plain; charset=utf-8"},
			body: "bad token",
		},
		{
			name: "refuse 429 with Retry-After and a JSON body",
			decide: func(u *engine.Upgrade) error {
				return u.Refuse(429, http.Header{"Retry-After": {"7"}, "Content-Type": {"application/json"}}, `{"error":"slow down"}`)
			},
			status: 429, header: map[string]string{"Retry-After": "7", "Content-Type": "application/json"}, body: `{"error":"slow down"}`,
		},
		{
			name:   "accept with a cookie and the protocol the hook chose",
			extra:  []string{"Sec-WebSocket-Protocol: game.v1, game.v2"},
			protos: []string{"game.v1", "game.v2"},
			decide: func(u *engine.Upgrade) error {
				return u.Accept(engine.AcceptOptions{Protocol: "game.v2", Header: http.Header{"Set-Cookie": {"sid=1"}}})
			},
			status:   101,
			header:   map[string]string{"Sec-WebSocket-Protocol": "game.v2", "Set-Cookie": "sid=1"},
			protocol: "game.v2",
		},
		{
			name:     "accept with the server's preference among those offered",
			extra:    []string{"Sec-WebSocket-Protocol: chat, game.v2", "Sec-WebSocket-Protocol: game.v1"},
			protos:   []string{"game.v1", "game.v2"},
			decide:   func(u *engine.Upgrade) error { return u.Accept(engine.AcceptOptions{}) },
			status:   101,
			header:   map[string]string{"Sec-WebSocket-Protocol": "game.v1"},
			protocol: "game.v1",
		},
		{
			name:  "a protocol the client did not offer is an error, then the hook refuses",
			extra: []string{"Sec-WebSocket-Protocol: chat"},
			decide: func(u *engine.Upgrade) error {
				err := u.Accept(engine.AcceptOptions{Protocol: "game.v1"})
				_ = u.Refuse(400, nil, "no protocol")
				return err
			},
			wantErr: engine.ErrProtocolNotOffered,
			status:  400, body: "no protocol",
		},
		{
			name: "a header with CRLF is refused before anything is written",
			decide: func(u *engine.Upgrade) error {
				err := u.Accept(engine.AcceptOptions{Header: http.Header{"X": {"a\r\nInjected: 1"}}})
				_ = u.Refuse(500, nil, "x")
				return err
			},
			wantErr: engine.ErrBadHeader,
			status:  500, body: "x",
		},
		{
			name: "a second decision gets ErrDecided",
			decide: func(u *engine.Upgrade) error {
				_ = u.Refuse(403, nil, "first")
				return u.Accept(engine.AcceptOptions{})
			},
			wantErr: engine.ErrDecided,
			status:  403, body: "first",
		},
		{
			name: "a status that is not a refusal",
			decide: func(u *engine.Upgrade) error {
				err := u.Refuse(200, nil, "ok")
				_ = u.Refuse(403, nil, "no")
				return err
			},
			wantErr: engine.ErrBadStatus,
			status:  403, body: "no",
		},
		{
			name:   "a panicking hook is a 500",
			decide: func(u *engine.Upgrade) error { panic("boom") },
			status: 500, body: "internal server error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			errs := make(chan error, 1)
			conns := make(chan *engine.Conn, 1)
			_, addr := serve(t, engine.Handler{
				Protocols: tt.protos,
				OnUpgrade: func(u *engine.Upgrade) {
					var err error
					defer func() { errs <- err }() // a panicking hook reports nil
					err = tt.decide(u)
				},
				OnConnect: func(c *engine.Conn) { conns <- c },
			})
			resp, body, _ := request(t, addr, wsPath, tt.extra...)
			if err := <-errs; err != tt.wantErr {
				t.Errorf("decision error %v, want %v", err, tt.wantErr)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d %q, want %d", resp.StatusCode, body, tt.status)
			}
			for k, v := range tt.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tt.status != 101 {
				if body != tt.body {
					t.Errorf("body %q, want %q", body, tt.body)
				}
				return
			}
			if c := <-conns; c.Protocol() != tt.protocol {
				t.Errorf("Conn.Protocol() = %q, want %q", c.Protocol(), tt.protocol)
			}
		})
	}
}

// TestUpgradeHookSees checks what the hook is given.
func TestUpgradeHookSees(t *testing.T) {
	t.Parallel()
	type seen struct {
		path, query, cookie, protocols, extensions, client string
	}
	got := make(chan seen, 1)
	_, addr := serve(t, engine.Handler{
		OnUpgrade: func(u *engine.Upgrade) {
			ck, _ := u.Cookie("token")
			got <- seen{u.Request().Path, u.Request().RawQuery, ck.Value, strings.Join(u.Protocols(), "|"),
				strings.Join(u.Extensions(), "|"), u.ClientAddr().String()}
			_ = u.Accept(engine.AcceptOptions{Value: "player-7"})
		},
		OnConnect: func(c *engine.Conn) { _ = c.SendText(c.Value().(string)) },
	})
	c := dialRaw(t, addr)
	c.Write([]byte(upgradeRequest(addr, wsPath+"?room=a%20b", "Cookie: a=1; token=s3cret",
		"Sec-WebSocket-Protocol: p1, p2",
		`Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo; q="a,b"`)))
	c.ExpectUpgrade()
	c.ExpectText("player-7")
	want := seen{wsPath, "room=a%20b", "s3cret", "p1|p2", `permessage-deflate; client_max_window_bits|x-foo; q="a,b"`, "127.0.0.1"}
	if s := <-got; s != want {
		t.Errorf("hook saw %+v\nwant %+v", s, want)
	}
}

// TestUpgradeDeferred decides 200 ms later from another goroutine while
// other connections of the same (only) loop keep echoing.
func TestUpgradeDeferred(t *testing.T) {
	t.Parallel()
	decided := make(chan time.Time, 1)
	_, addr := serve(t, engine.Handler{
		Protocols: []string{"game.v1"},
		OnUpgrade: func(u *engine.Upgrade) {
			if u.Request().RawQuery != "token=slow" {
				_ = u.Accept(engine.AcceptOptions{})
				return
			}
			go func() {
				time.Sleep(200 * time.Millisecond)
				decided <- time.Now()
				_ = u.Accept(engine.AcceptOptions{Value: "late"})
			}()
		},
		OnMessage: func(c *engine.Conn, op engine.OpCode, p []byte) { _ = c.Send(op, p) },
	}, engine.WithLoops(1))
	other := dialUpgraded(t, addr)
	start := time.Now()
	slow := dialRaw(t, addr)
	slow.Write([]byte(upgradeRequest(addr, wsPath+"?token=slow", "Sec-WebSocket-Protocol: game.v1")))
	// While the decision is pending, the loop serves the other connection.
	echoes := 0
	for time.Since(start) < 150*time.Millisecond {
		other.SendText("ping")
		other.ExpectText("ping")
		echoes++
	}
	if echoes < 5 {
		t.Errorf("only %d echoes while the upgrade waited", echoes)
	}
	resp := slow.ExpectUpgrade()
	at := <-decided
	if since := at.Sub(start); since < 190*time.Millisecond {
		t.Errorf("decided after %v", since)
	}
	if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != "game.v1" {
		t.Errorf("protocol %q", p)
	}
	slow.SendText("after")
	slow.ExpectText("after")
}

// TestUpgradeDeferredTimeout: no decision within the handshake timeout is
// a 503, and a decision after that gets ErrDecided.
func TestUpgradeDeferredTimeout(t *testing.T) {
	t.Parallel()
	pending := make(chan *engine.Upgrade, 1)
	srv, addr := serve(t, engine.Handler{OnUpgrade: func(u *engine.Upgrade) { pending <- u }},
		engine.WithHandshakeTimeout(300*time.Millisecond))
	resp, body, c := request(t, addr, wsPath)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "timed out") {
		t.Fatalf("status %d, Retry-After %q, body %q", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	c.ExpectEOF()
	if err := (<-pending).Accept(engine.AcceptOptions{}); err != engine.ErrDecided {
		t.Errorf("late Accept: %v, want ErrDecided", err)
	}
	wstest.Eventually(t, "handshake count back to 0", func() bool { return srv.Stats().Handshaking == 0 })
}

// TestUpgradeDeferredClientGone: the client leaves while the decision is
// pending; the decision then gets ErrDecided and nothing leaks.
func TestUpgradeDeferredClientGone(t *testing.T) {
	t.Parallel()
	pending := make(chan *engine.Upgrade, 1)
	srv, addr := serve(t, engine.Handler{OnUpgrade: func(u *engine.Upgrade) { pending <- u }})
	c := dialRaw(t, addr)
	c.Write([]byte(upgradeRequest(addr, wsPath)))
	u := <-pending
	_ = c.Close()
	wstest.Eventually(t, "socket closed on the server", func() bool { return srv.Stats().Handshaking == 0 })
	if err := u.Accept(engine.AcceptOptions{}); err != engine.ErrDecided {
		t.Errorf("Accept after the client left: %v, want ErrDecided", err)
	}
}

// TestUpgradeDeferredMany decides many pending upgrades from many
// goroutines at once, half accepted and half refused.
func TestUpgradeDeferredMany(t *testing.T) {
	t.Parallel()
	const n = 100
	_, addr := serve(t, engine.Handler{
		OnUpgrade: func(u *engine.Upgrade) {
			go func() {
				if strings.HasSuffix(u.Request().RawQuery, "0") {
					_ = u.Refuse(403, nil, "even")
					return
				}
				_ = u.Accept(engine.AcceptOptions{})
			}()
		},
	})
	var mu sync.Mutex
	got := map[int]int{}
	parallelN(n, 20, func(i int) {
		c, err := wstest.DialE(t, addr, wsPath+"?i="+strings.Repeat("1", i%3+1)+map[bool]string{true: "0", false: "1"}[i%2 == 0])
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			got[101]++
			_ = c.Close()
		} else if strings.Contains(err.Error(), "403") {
			got[403]++
		}
	})
	if got[101] != n/2 || got[403] != n/2 {
		t.Errorf("got %v, want %d of each", got, n/2)
	}
}

// TestRefusalsDoNotReflect: the server's own refusals name no request
// bytes and carry nosniff; routes match the path as sent.
func TestRefusalsDoNotReflect(t *testing.T) {
	t.Parallel()
	srv := engine.New()
	srv.Handle(wsPath, echo())
	srv.HandleHTTP("/stats", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "stats") }))
	addr := wstest.Start(t, srv)
	tests := []struct {
		name, head string
		status     int
	}{
		{"unknown path with markup", "GET /<script>alert(1)</script> HTTP/1.1\r\nHost: h\r\n\r\n", 404},
		{"percent-encoded route is not the route", "GET /%73tats HTTP/1.1\r\nHost: h\r\n\r\n", 404},
		{"malformed query", "GET /ws?room=%zz HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n", 400},
		{"semicolon in query", "GET /ws?room=a;b HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n", 400},
		{"bare LF", "GET /ws HTTP/1.1\nHost: h\n\n", 400},
		{"origin with markup", "GET /ws HTTP/1.1\r\nHost: h\r\nOrigin: http://<b>evil\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.Write([]byte(tt.head))
			resp := c.Response()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d %q, want %d", resp.StatusCode, body, tt.status)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no nosniff: %v", resp.Header)
			}
			for _, bad := range []string{"<", "%", "zz", "evil", "stats"} {
				if strings.Contains(string(body), bad) {
					t.Errorf("body %q reflects %q", body, bad)
				}
			}
		})
	}
}

// TestRequestAfterConnect checks what Conn.Request holds in OnConnect and
// later, in OnMessage: the request line always, the headers only with
// KeepRequest.
func TestRequestAfterConnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		keep       bool
		wantHeader string // X-Token seen in OnMessage
		wantHost   bool
	}{
		{name: "request line only", keep: false, wantHeader: "", wantHost: false},
		{name: "kept whole", keep: true, wantHeader: "abc", wantHost: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			describe := func(r *engine.Request) string {
				return fmt.Sprintf("%s %s path=%s query=%s %s host=%t token=%q",
					r.Method, r.Target, r.Path, r.RawQuery, r.Proto, r.Host != "", r.Header.Get("X-Token"))
			}
			_, addr := serve(t, engine.Handler{
				KeepRequest: tt.keep,
				OnConnect:   func(c *engine.Conn) { _ = c.SendText(describe(c.Request())) },
				OnMessage: func(c *engine.Conn, _ engine.OpCode, _ []byte) {
					_ = c.SendText(describe(c.Request()))
					_ = c.SendText(describe(c.Request())) // the second call returns the same
				},
			})
			c := dialRaw(t, addr)
			c.Write([]byte(upgradeRequest(addr, wsPath+"?room=a%20b", "X-Token: abc")))
			c.ExpectUpgrade()
			target := wsPath + "?room=a%20b"
			c.ExpectText(fmt.Sprintf("GET %s path=%s query=room=a%%20b HTTP/1.1 host=true token=%q", target, wsPath, "abc"))
			c.SendText("again")
			later := fmt.Sprintf("GET %s path=%s query=room=a%%20b HTTP/1.1 host=%t token=%q", target, wsPath, tt.wantHost, tt.wantHeader)
			c.ExpectText(later)
			c.ExpectText(later)
		})
	}
}

// TestUpgradeWaitingInput: a client that sends more than MaxHeaderBytes
// while its upgrade waits for a decision gets 400 with its own reason, and
// the decision made after that gets ErrDecided.
func TestUpgradeWaitingInput(t *testing.T) {
	t.Parallel()
	pending := make(chan *engine.Upgrade, 1)
	_, addr := serve(t, engine.Handler{OnUpgrade: func(u *engine.Upgrade) { pending <- u }},
		engine.WithMaxHeaderBytes(1024))
	c := dialRaw(t, addr)
	c.Write([]byte(upgradeRequest(addr, wsPath)))
	u := <-pending
	c.Write(make([]byte, 2048))
	resp := c.Response()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "data sent before the handshake was answered") {
		t.Errorf("got %d %q, want 400 for data before the answer", resp.StatusCode, body)
	}
	if err := u.Accept(engine.AcceptOptions{}); err != engine.ErrDecided {
		t.Errorf("Accept after the refusal: %v, want ErrDecided", err)
	}
}
