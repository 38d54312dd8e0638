package e2e_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/wshub/wshub/engine"
)

// gamePage opens new WebSocket(url, ['game.v1']) with the token in its
// query string and records what the browser saw.
const gamePage = `<!doctype html><title>game</title><script>
window.seen = [];
function connect(token) {
	const ws = new WebSocket("ws://" + location.host + "/game?token=" + token, ["game.v1"]);
	ws.onopen = () => { window.seen.push("open:" + ws.protocol); ws.send("hello"); };
	ws.onmessage = (e) => window.seen.push("message:" + e.data);
	ws.onerror = () => window.seen.push("error");
	ws.onclose = (e) => window.seen.push("close:" + e.code);
}
</script>`

// startGame serves the game page and a /game route that speaks game.v1
// and wants the token "good", checked 50 ms later from another goroutine
// (as an auth service would).
func startGame(t *testing.T) string {
	t.Helper()
	srv := engine.New()
	srv.HandleHTTP("/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, gamePage)
	}))
	srv.Handle("/game", engine.Handler{
		Protocols: []string{"game.v1"},
		OnUpgrade: func(u *engine.Upgrade) {
			token := strings.TrimPrefix(u.Request().RawQuery, "token=")
			go func() {
				time.Sleep(50 * time.Millisecond)
				if token != "good" {
					_ = u.Refuse(http.StatusUnauthorized, http.Header{"Www-Authenticate": {`Bearer realm="game"`}}, "bad token")
					return
				}
				_ = u.Accept(engine.AcceptOptions{})
			}()
		},
		OnMessage: func(c *engine.Conn, op engine.OpCode, p []byte) {
			_ = c.Send(op, []byte(c.Protocol()+" "+string(p)))
		},
	})
	start(t, srv)
	return srv.Addr().String()
}

// TestBrowserSubprotocolAndToken: with a good token Chromium connects with
// protocol game.v1; with a bad one it sees the hook's refusal as an error
// and a close, never an open.
func TestBrowserSubprotocolAndToken(t *testing.T) {
	needBrowser(t)
	t.Parallel()
	addr := startGame(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	browser := startBrowser(t, ctx)
	for _, tt := range []struct{ token, want string }{
		{"good", "open:game.v1,message:game.v1 hello"},
		{"bad", "error,close:1006"},
	} {
		p := newPage(t, browser)
		must(t, "token "+tt.token, chromedp.Do(p.ctx,
			chromedp.Navigate("http://"+addr+"/"),
			chromedp.Evaluate[chromedp.Void](`connect("`+tt.token+`")`),
			poll(`(want) => window.seen.join(",") === want`, tt.want),
		))
		if errs := p.jsErrors(); len(errs) > 0 {
			t.Errorf("page threw: %s", strings.Join(errs, "; "))
		}
	}
}

// TestGoClientSubprotocolAndToken: gorilla sees the chosen subprotocol, and
// the 401's status, header and body.
func TestGoClientSubprotocolAndToken(t *testing.T) {
	t.Parallel()
	addr := startGame(t)
	d := websocket.Dialer{HandshakeTimeout: waitTimeout, Subprotocols: []string{"chat", "game.v1"}}
	c, resp, err := d.Dial("ws://"+addr+"/game?token=good", nil)
	if err != nil {
		t.Fatalf("good token: %v", err)
	}
	defer c.Close()
	if c.Subprotocol() != "game.v1" || resp.Header.Get("Sec-WebSocket-Protocol") != "game.v1" {
		t.Errorf("subprotocol %q", c.Subprotocol())
	}
	writeGorilla(t, c, websocket.TextMessage, "hi")
	if _, p, err := c.ReadMessage(); err != nil || string(p) != "game.v1 hi" {
		t.Errorf("read %q, %v", p, err)
	}

	_, resp, err = d.Dial("ws://"+addr+"/game?token=bad", nil)
	if err == nil || resp == nil {
		t.Fatalf("bad token: err %v, response %v", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Bearer realm="game"` || string(body) != "bad token" {
		t.Errorf("bad token: %d %q %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
}
