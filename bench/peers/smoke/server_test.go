package smoke_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// peers are the servers under bench/peers, by directory name.
var peers = []string{"gorilla", "gws", "nbio", "gobwas", "raw"}

// binDir holds the peers built once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "peers-smoke-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, b := range builds() {
		args := append([]string{"build", "-o", dir + string(filepath.Separator)}, b...)
		cmd := exec.Command("go", args...)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go %v: %v\n%s", args, err, out)
			return 1
		}
	}
	binDir = dir
	return m.Run()
}

// raceFree are the peers built without -race even under go test -race:
// nbio hands connections from its accept goroutine to its pollers through
// epoll, which the race detector cannot see, so it reports races inside
// nbio itself (nbio marks such code //go:norace).
var raceFree = map[string]bool{"nbio": true}

// builds returns the go build arguments, less -o, that build every peer:
// with -race when the test runs with it, except the raceFree ones.
func builds() [][]string {
	if !raceEnabled {
		return [][]string{{"./..."}}
	}
	var racy, plain []string
	for _, p := range peers {
		if raceFree[p] {
			plain = append(plain, "./"+p)
		} else {
			racy = append(racy, "./"+p)
		}
	}
	return [][]string{append([]string{"-race"}, racy...), plain}
}

// listening is the one line a peer prints once it listens.
var listening = regexp.MustCompile(`^listening on (127\.0\.0\.1:[1-9][0-9]*)$`)

// server is one running peer process.
type server struct {
	addr   string
	cmd    *exec.Cmd
	stderr *lineWriter
	done   chan error // receives cmd.Wait's result once
}

// start runs the named peer on 127.0.0.1:0, with the extra flags, and
// waits for its address.
func start(t *testing.T, name string, flags ...string) *server {
	t.Helper()
	s := &server{stderr: newLineWriter(), done: make(chan error, 1)}
	s.cmd = exec.Command(filepath.Join(binDir, name), append([]string{"-addr", "127.0.0.1:0"}, flags...)...)
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
		s.done <- nil
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, s.stderr.String())
		}
	})
	select {
	case s.addr = <-s.stderr.addr:
	case err := <-s.done:
		t.Fatalf("%s exited before listening: %v\n%s", name, err, s.stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("%s printed no listening line:\n%s", name, s.stderr.String())
	}
	return s
}

// signal sends sig and returns the exit code, failing if the peer takes
// longer than timeout.
func (s *server) signal(t *testing.T, sig syscall.Signal, timeout time.Duration) int {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		s.done <- err
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("still running %v after %v", sig, timeout)
		return -1
	}
}

// lineWriter collects a peer's stderr and reports the address of the first
// listening line.
type lineWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	scanned int
	addr    chan string
	found   bool
	matches int
}

func newLineWriter() *lineWriter {
	return &lineWriter{addr: make(chan string, 1)}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		rest := w.buf.Bytes()[w.scanned:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.scanned += i + 1
		if m := listening.FindSubmatch(rest[:i]); m != nil {
			w.matches++
			if !w.found {
				w.found = true
				w.addr <- string(m[1])
			}
		}
	}
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// listeningLines counts the listening lines printed so far.
func (w *lineWriter) listeningLines() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.matches
}
