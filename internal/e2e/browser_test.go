package e2e_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/gorilla/websocket"
)

// chromiumPath is Debian's Chromium; scripts/test.sh installs it.
const chromiumPath = "/usr/bin/chromium"

// TestBrowserChat drives the chat page in headless Chromium: alice and bob,
// each in a browser context of their own, join room t1 and talk; bob's tab
// closes and alice sees him leave. Set WSHUB_SCREENSHOT=file.png to keep a
// screenshot of alice's page.
func TestBrowserChat(t *testing.T) {
	needBrowser(t)
	t.Parallel()
	addr := startDemo(t)
	url := "http://" + addr + "/"

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	browser := startBrowser(t, ctx)
	alice := newPage(t, browser)
	bob := newPage(t, browser)

	for _, p := range []*page{alice, bob} {
		must(t, "open the page", chromedp.Do(p.ctx,
			chromedp.Navigate(url),
			jsTrue(`document.getElementById("msg").disabled && document.getElementById("send").disabled`),
		))
	}
	must(t, "alice joins", alice.join("alice", "t1"))
	must(t, "bob joins", bob.join("bob", "t1"))
	for _, p := range []*page{alice, bob} {
		must(t, p.name+"'s connection is compressed", chromedp.Do(p.ctx,
			jsTrue(`document.getElementById("status").dataset.extensions.startsWith("permessage-deflate")`),
			hasText("#status", "(compressed)"),
		))
	}
	must(t, "bob sees alice", chromedp.Do(bob.ctx, memberIs("alice", true)))
	must(t, "alice sees bob join", chromedp.Do(alice.ctx,
		memberIs("bob", true),
		hasText(".line.system", "bob joined"),
	))

	must(t, "alice sends with the button", chromedp.Do(alice.ctx,
		chromedp.SendKeys(chromedp.ID("msg"), "hello from alice"),
		chromedp.Click(chromedp.ID("send")),
		jsTrue(`document.getElementById("msg").value === ""`),
	))
	must(t, "bob sees alice's message", chromedp.Do(bob.ctx, chatIs("alice", "hello from alice")))

	// Long enough to go compressed both ways: Chromium deflates what it
	// sends, the server deflates what it publishes to the room.
	long := strings.Repeat("a long message that compresses well; ", 60)
	must(t, "alice sends a long message", chromedp.Do(alice.ctx,
		chromedp.SetValue(chromedp.ID("msg"), long),
		chromedp.Click(chromedp.ID("send")),
	))
	must(t, "bob sees the long message", chromedp.Do(bob.ctx, chatIs("alice", long)))

	must(t, "bob sends with Enter", chromedp.Do(bob.ctx,
		chromedp.SendKeys(chromedp.ID("msg"), "hi alice <b>& bob</b>"+kb.Enter),
	))
	must(t, "alice sees bob's message as text", chromedp.Do(alice.ctx,
		chatIs("bob", "hi alice <b>& bob</b>"),
		jsTrue(`document.querySelector("#log b") === null`),
	))

	// Other clients in the room may send anything: the page shows chat
	// JSON as text and ignores the rest.
	raw := dialGorilla(t, addr, "/ws?room=t1")
	for _, m := range []string{
		"not JSON at all",
		`{"type":"presence","event":"bogus"}`,
		`[1,2,3]`,
		`{"type":"chat","name":"mallory","text":"<img src=x onerror=alert(1)>"}`,
	} {
		writeGorilla(t, raw, websocket.TextMessage, m)
	}
	writeGorilla(t, raw, websocket.BinaryMessage, "\x00\xff")
	must(t, "alice shows mallory's message as text", chromedp.Do(alice.ctx,
		chatIs("mallory", "<img src=x onerror=alert(1)>"),
		jsTrue(`document.querySelector("#log img") === null && !document.getElementById("log").textContent.includes("not JSON")`),
	))

	if path := os.Getenv("WSHUB_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(alice.ctx, chromedp.FullScreenshot(100))
		must(t, "screenshot", err)
		must(t, "screenshot", os.WriteFile(path, png, 0o644))
	}

	bob.close()
	must(t, "alice sees bob leave", chromedp.Do(alice.ctx,
		hasText(".line.system", "bob left"),
		memberIs("bob", false),
		memberIs("alice", true),
	))

	must(t, "alice leaves and reconnects", chromedp.Do(alice.ctx,
		chromedp.Click(chromedp.ID("leave")),
		chromedp.WaitVisible(chromedp.CSS(`#status[data-state="closed"]`)),
		hasText("#status", "1000"),
		chromedp.WaitVisible(chromedp.ID("reconnect")),
		jsTrue(`document.getElementById("msg").disabled`),
		chromedp.Click(chromedp.ID("reconnect")),
		chromedp.WaitVisible(chromedp.CSS(`#status[data-state="open"]`)),
		memberIs("alice", true),
	))
	for _, p := range []*page{alice, bob} {
		if errs := p.jsErrors(); len(errs) > 0 {
			t.Errorf("%s's page threw: %s", p.name, strings.Join(errs, "; "))
		}
	}
}

// TestBrowserCompressedEcho: Chromium negotiates permessage-deflate with
// the demo's /echo (the page reads ws.extensions) and large text and binary
// messages round-trip: Chromium compresses them, the server inflates them,
// and compresses the echo, which Chromium inflates.
func TestBrowserCompressedEcho(t *testing.T) {
	needBrowser(t)
	t.Parallel()
	addr := startDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := newPage(t, startBrowser(t, ctx))
	type result struct {
		Ext    string `json:"ext"`
		Text   bool   `json:"text"`
		Binary bool   `json:"binary"`
		Closed int    `json:"closed"`
	}
	must(t, "open the page", chromedp.Do(p.ctx, chromedp.Navigate("http://"+addr+"/")))
	res, err := chromedp.Run(p.ctx, chromedp.Evaluate[result](`new Promise((resolve) => {
		const ws = new WebSocket("ws://" + location.host + "/echo");
		ws.binaryType = "arraybuffer";
		const text = JSON.stringify(Array.from({length: 3000}, (_, i) => ({i, name: "player" + (i % 50), x: i * 1.5})));
		const bin = new Uint8Array(200000).map((_, i) => (i * i) % 7);
		const got = [];
		ws.onopen = () => { ws.send(text); ws.send(bin); };
		ws.onmessage = (ev) => {
			got.push(ev.data);
			if (got.length < 2) return;
			const b = new Uint8Array(got[1]);
			resolve({ext: ws.extensions, text: got[0] === text,
				binary: b.length === bin.length && b.every((v, i) => v === bin[i])});
			ws.close();
		};
		ws.onclose = (ev) => resolve({closed: ev.code});
	})`, chromedp.EvalAwaitPromise))
	must(t, "echo", err)
	if !strings.HasPrefix(res.Ext, "permessage-deflate") || !res.Text || !res.Binary {
		t.Fatalf("extensions %q, text echoed %v, binary echoed %v, closed %d", res.Ext, res.Text, res.Binary, res.Closed)
	}
}

// needBrowser skips the test when Chromium is not installed, or fails it
// when WSHUB_REQUIRE_BROWSER=1 (scripts/test.sh sets it).
func needBrowser(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("WSHUB_REQUIRE_BROWSER") == "1" {
			t.Fatalf("WSHUB_REQUIRE_BROWSER=1 but there is no browser: %v", err)
		}
		t.Skipf("no browser (%v); scripts/test.sh installs it", err)
	}
}

// startBrowser starts headless Chromium with a fresh profile; cleanup stops
// it and removes the profile.
func startBrowser(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	dir, err := os.MkdirTemp("", "wshub-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1000, 640),
	)
	allocCtx, allocCancel := chromedp.NewExecAllocator(ctx, opts...)
	browserCtx, browserCancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		browserCancel() // waits for the browser to exit
		allocCancel()
		removeProfile(t, dir)
	})
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return browserCtx
}

// removeProfile removes the browser's profile; its helper processes may
// still write there for a moment after the browser exits.
func removeProfile(t *testing.T, dir string) {
	var err error
	for range 50 {
		if err = os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("remove browser profile: %v", err)
}

// page is one tab in a browser context of its own.
type page struct {
	name   string
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	thrown []string // uncaught JavaScript exceptions
}

func newPage(t *testing.T, browser context.Context) *page {
	t.Helper()
	p := &page{}
	p.ctx, p.cancel = chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(p.close)
	must(t, "open a tab", chromedp.Listen(p.ctx, p.event))
	return p
}

func (p *page) event(ev any) {
	if e, ok := ev.(*runtime.EventExceptionThrown); ok && e.ExceptionDetails != nil {
		d := e.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text = d.Exception.Description
		}
		p.mu.Lock()
		p.thrown = append(p.thrown, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, text))
		p.mu.Unlock()
	}
}

func (p *page) jsErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.thrown...)
}

// close closes the tab and its browser context.
func (p *page) close() { p.cancel() }

// join fills in the form like a person would and waits until the page is
// connected and lists its own name.
func (p *page) join(name, room string) error {
	p.name = name
	return chromedp.Do(p.ctx,
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.Clear(chromedp.ID("room")),
		chromedp.SendKeys(chromedp.ID("room"), room),
		chromedp.Click(chromedp.ID("join")),
		chromedp.WaitVisible(chromedp.CSS(`#status[data-state="open"]`)),
		memberIs(name, true),
		jsTrue(`!document.getElementById("msg").disabled`),
	)
}

func must(t *testing.T, step string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

// pollTimeout bounds every wait for the page; the test's context bounds
// the whole run.
const pollTimeout = 10 * time.Second

// poll waits until fn(args...) is true in the page.
func poll(fn string, args ...any) chromedp.Action[chromedp.Void] {
	return chromedp.PollFunction[chromedp.Void](fn,
		chromedp.WithPollingArgs(args...),
		chromedp.WithPollingTimeout(pollTimeout),
		chromedp.WithPollingInterval(20*time.Millisecond))
}

// jsTrue waits until the expression is true.
func jsTrue(expr string) chromedp.Action[chromedp.Void] {
	return poll(`() => ` + expr)
}

// memberIs waits until name is (or is not) in the member list.
func memberIs(name string, present bool) chromedp.Action[chromedp.Void] {
	return poll(`(name, present) =>
		[...document.querySelectorAll("#members .member")].some((e) => e.textContent === name) === present`,
		name, present)
}

// hasText waits until an element matching sel contains text.
func hasText(sel, text string) chromedp.Action[chromedp.Void] {
	return poll(`(sel, text) =>
		[...document.querySelectorAll(sel)].some((e) => e.textContent.includes(text))`,
		sel, text)
}

// chatIs waits until the log has a chat line from name with exactly text.
func chatIs(name, text string) chromedp.Action[chromedp.Void] {
	return poll(`(name, text) =>
		[...document.querySelectorAll("#log .line.chat")].some((e) =>
			e.querySelector(".who").textContent === name && e.querySelector(".text").textContent === text)`,
		name, text)
}
