package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/internal/demo"
	"github.com/wshub/wshub/internal/demo/demotest"
	"github.com/wshub/wshub/internal/wstest"
)

// binDir holds the wshub binary that the CLI tests build (once, on first use).
var binDir string

// TestMain fails the package if a goroutine outlives the tests (servers run
// in-process are stopped by their test's cleanup), and removes the binary.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wshub-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := wstest.RunNoLeaks(m)
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var build struct {
	once sync.Once
	path string
	out  []byte
	err  error
}

// wshubBinary builds the command once per test run, with the race detector
// when the tests have it, and returns its path.
func wshubBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		build.path = filepath.Join(binDir, "wshub")
		args := []string{"build", "-buildvcs=false", "-o", build.path}
		if raceEnabled() {
			args = append(args, "-race")
		}
		build.out, build.err = exec.CommandContext(ctx, "go", append(args, ".")...).CombinedOutput()
	})
	if build.err != nil {
		t.Fatalf("go build: %v\n%s", build.err, build.out)
	}
	return build.path
}

// childEnv is the environment of a wshub child: a race-enabled binary
// must not idle for a second at exit.
func childEnv() []string {
	return append(os.Environ(), "GORACE=atexit_sleep_ms=0")
}

func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// process is a running wshub binary.
type process struct {
	cmd    *exec.Cmd
	addr   string               // from the "chat demo at" line
	stderr *wstest.LockedBuffer // everything it wrote to stderr
	done   chan struct{}        // closed once it exited; then err is its exit error
	err    error
}

var listenLine = regexp.MustCompile(`^wshub: chat demo at http://(\S+)/$`)

// startWshub runs the binary with args and waits until it says where it
// listens. Cleanup kills it if the test did not stop it.
func startWshub(t *testing.T, args ...string) *process {
	t.Helper()
	return startCmd(t, exec.Command(wshubBinary(t), args...))
}

// startLimited runs the binary with args under "ulimit -n nofile".
func startLimited(t *testing.T, nofile int, args ...string) *process {
	t.Helper()
	sh := fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, nofile)
	return startCmd(t, exec.Command("sh", append([]string{"-c", sh, wshubBinary(t)}, args...)...))
}

func startCmd(t *testing.T, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{
		cmd:    cmd,
		stderr: &wstest.LockedBuffer{},
		done:   make(chan struct{}),
	}
	p.cmd.Env = childEnv()
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	go p.readStderr(pipe, addrc)
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.addr = <-addrc:
		return p
	case <-p.done:
		t.Fatalf("wshub exited before listening: %v\n%s", p.err, p.stderr)
	case <-time.After(10 * time.Second):
		t.Fatalf("wshub did not say where it listens within 10 s:\n%s", p.stderr)
	}
	return nil
}

// readStderr copies the child's stderr into p.stderr, reports the listen
// address, then reaps the child.
func (p *process) readStderr(r io.Reader, addrc chan<- string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		_, _ = fmt.Fprintln(p.stderr, line)
		if m := listenLine.FindStringSubmatch(line); m != nil {
			addrc <- m[1]
		}
	}
	_, _ = io.Copy(p.stderr, r) // a line too long for the scanner
	p.err = p.cmd.Wait()
	close(p.done)
}

// waitExit waits at most d for the process to exit.
func (p *process) waitExit(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("wshub still running %v after the signal:\n%s", d, p.stderr)
	}
}

// message is one WebSocket message as a client sees it.
type message struct {
	op   ws.OpCode
	data string
}

func (m message) String() string { return fmt.Sprintf("op %d %q", m.op, m.data) }

func write(t *testing.T, c *wstest.Conn, m message) {
	t.Helper()
	c.Send(wstest.Frame{Fin: true, Op: m.op, Payload: []byte(m.data)})
}

// readAs reads one message, with who in the error.
func readAs(t *testing.T, who string, c *wstest.Conn) message {
	t.Helper()
	op, p, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("%s: read: %v", who, err)
	}
	return message{op, string(p)}
}

// expectClose reads until the server's close frame, checks its code and
// answers it, as client libraries and browsers do.
func expectClose(t *testing.T, c *wstest.Conn, code ws.StatusCode) {
	t.Helper()
	if got, err := c.AnswerClose(); err != nil || got != code {
		t.Fatalf("want close %d, got %d, %v", code, got, err)
	}
}

// checkPage fetches "/" and compares it with the embedded page.
func checkPage(t *testing.T, addr string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("GET /: Content-Type %q, want text/html", ct)
	}
	if !bytes.Equal(body, demo.Page) || !bytes.Contains(body, []byte(`id="msg"`)) {
		t.Fatalf("GET /: body is not the chat page (%d bytes)", len(body))
	}
}

// TestSignal runs the binary, uses every route, then stops it with a
// signal: every client gets close 1001 and the process exits 0.
func TestSignal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sig  os.Signal
	}{
		{name: "SIGTERM", sig: syscall.SIGTERM},
		{name: "SIGINT", sig: syscall.SIGINT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startWshub(t, "-addr", "127.0.0.1:0", "-log-level", "subtle")
			checkPage(t, p.addr)

			// The engine answers the handshake before OnConnect has put
			// the client in its room, so a client may be told it is
			// connected before it is a member. b proves it is in by
			// hearing itself (its own join precedes its own message on its
			// loop); a's join precedes a's messages the same way.
			b := wstest.Dial(t, p.addr, "/ws?room=x")
			hello := message{op: ws.OpText, data: "b is here"}
			write(t, b, hello)
			if got := readAs(t, "b", b); got != hello {
				t.Fatalf("b got %v, want %v", got, hello)
			}
			a := wstest.Dial(t, p.addr, "/ws?room=x")
			sent := []message{
				{op: ws.OpText, data: "hello, room"},
				{op: ws.OpBinary, data: "\x00\x01\xfe\xff"},
			}
			for _, m := range sent {
				write(t, a, m)
			}
			for who, c := range map[string]*wstest.Conn{"sender": a, "other": b} {
				for _, want := range sent {
					if got := readAs(t, who, c); got != want {
						t.Fatalf("%s got %v, want %v", who, got, want)
					}
				}
			}

			e := wstest.Dial(t, p.addr, "/echo")
			for _, m := range sent {
				write(t, e, m)
				if got := readAs(t, "echo", e); got != m {
					t.Fatalf("echo got %v, want %v", got, m)
				}
			}

			if err := p.cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			for _, c := range []*wstest.Conn{a, b, e} {
				expectClose(t, c, ws.StatusGoingAway)
			}
			p.waitExit(t, 5*time.Second)
			if p.err != nil {
				t.Fatalf("exit after %v: %v\n%s", tt.sig, p.err, p.stderr)
			}
		})
	}
}

// TestFlags checks how the command answers bad and special flags.
func TestFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string // in stderr
	}{
		{name: "unknown log level", args: []string{"-log-level", "loud"}, wantCode: 1,
			wantErr: `unknown log level "loud" (want verbose, subtle or nothing)`},
		{name: "unknown flag", args: []string{"-bogus"}, wantCode: 2,
			wantErr: "flag provided but not defined: -bogus"},
		{name: "bad number", args: []string{"-loops", "many"}, wantCode: 2,
			wantErr: `invalid value "many" for flag -loops`},
		{name: "unknown slow policy", args: []string{"-slow-policy", "ignore"}, wantCode: 1,
			wantErr: `unknown slow-client policy "ignore"`},
		{name: "bad flush interval", args: []string{"-flush-interval", "soon"}, wantCode: 2,
			wantErr: `invalid value "soon" for flag -flush-interval`},
		{name: "stray argument", args: []string{"-addr", "127.0.0.1:0", "extra"}, wantCode: 2,
			wantErr: `unexpected argument "extra"`},
		{name: "bad address", args: []string{"-addr", "127.0.0.1:99999"}, wantCode: 1,
			wantErr: "listen on 127.0.0.1:99999"},
		{name: "client window out of range", args: []string{"-client-window-bits", "7"}, wantCode: 1,
			wantErr: "-client-window-bits must be 0 or 8-15, not 7"},
		{name: "compression level out of range", args: []string{"-compression-level", "10"}, wantCode: 1,
			wantErr: "-compression-level must be -2 to 9, not 10"},
		{name: "help", args: []string{"-h"}, wantCode: 0, wantErr: "-log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, wshubBinary(t), tt.args...)
			cmd.Env = childEnv()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			switch {
			case errors.As(err, &ee):
				code = ee.ExitCode()
			case err != nil:
				t.Fatal(err)
			}
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("wshub %s: exit %d, stderr:\n%s\nwant exit %d and %q",
					strings.Join(tt.args, " "), code, &stderr, tt.wantCode, tt.wantErr)
			}
			if strings.Contains(stderr.String(), "chat demo at") {
				t.Fatalf("wshub %s started serving:\n%s", strings.Join(tt.args, " "), &stderr)
			}
		})
	}
}

// startInProcess runs the server in this process on a free port; cleanup
// stops it and waits for run to return.
func startInProcess(t *testing.T, args ...string) string {
	t.Helper()
	addr, _ := startStoppable(t, args...)
	return addr
}

// TestCompressionFlag: by default the demo's routes answer a browser's
// permessage-deflate offer; -compression=false answers none;
// -client-window-bits lets the client keep a window.
func TestCompressionFlag(t *testing.T) {
	t.Parallel()
	const offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"
	tests := []struct {
		args []string
		want string
	}{
		{want: "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{args: []string{"-compression=false"}, want: ""},
		{args: []string{"-client-window-bits", "10"}, want: "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			addr := startInProcess(t, tt.args...)
			for _, path := range []string{"/echo", "/ws?room=z", "/sink"} {
				c := wstest.DialTCP(t, addr)
				c.Write([]byte(wstest.UpgradeRequest(addr, path, offer)))
				if got := c.ExpectUpgrade().Header.Get("Sec-WebSocket-Extensions"); got != tt.want {
					t.Fatalf("%s: Sec-WebSocket-Extensions %q, want %q", path, got, tt.want)
				}
			}
		})
	}
}

func sortedCopy(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// dialNamed connects a chat client per name to room, all at once, the
// i-th to addr(i), and watches each.
func dialNamed(t *testing.T, addr func(i int) string, room string, names []string) ([]*wstest.Conn, []*demotest.View) {
	t.Helper()
	conns := make([]*wstest.Conn, len(names))
	views := make([]*demotest.View, len(names))
	var wg sync.WaitGroup
	errs := make(chan error, len(names))
	for i := range names {
		wg.Go(func() {
			c, err := wstest.DialE(t, addr(i), "/ws?room="+room+"&name="+names[i])
			if err != nil {
				errs <- err
				return
			}
			conns[i], views[i] = c, demotest.Watch(c)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("dial: %v", err)
	}
	return conns, views
}

// TestPresence connects named clients at once, from many goroutines: each
// must end up seeing everyone exactly once, whatever the order in which
// the event loops ran their joins; then half leave, and the rest see that.
func TestPresence(t *testing.T) {
	t.Parallel()
	addr := startInProcess(t)
	const n = 16
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("u%02d", i)
	}
	conns, views := dialNamed(t, func(int) string { return addr }, "p", names)
	for i, v := range views {
		v.WaitFor(t, names[i], names...)
	}
	for i := range n / 2 {
		_ = conns[i].Close()
	}
	for i := n / 2; i < n; i++ {
		views[i].WaitFor(t, names[i], names[n/2:]...)
	}
}
