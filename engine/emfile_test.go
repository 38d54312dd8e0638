package engine_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/wstest"
)

// TestEMFILE fills a server process's descriptor table with files of its
// own (as an application that opens files would), below the server's own
// budget, so that accept itself fails with EMFILE: the server keeps serving
// the connection it has, answers a new one with a refusal instead of
// leaving it hanging, and serves again once the files are closed. The
// server runs in a child process (this test binary, under "ulimit -n 64"),
// so that the full table does not disturb the other tests.
func TestEMFILE(t *testing.T) {
	t.Parallel()
	if os.Getenv("WSHUB_EMFILE_CHILD") != "" {
		t.Skip("in the child")
	}
	sh := `ulimit -n 64 && exec "$0" -test.run '^TestEMFILEChild$' -test.v`
	cmd := exec.Command("sh", "-c", sh, os.Args[0])
	cmd.Env = append(os.Environ(), "WSHUB_EMFILE_CHILD=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	out := bufio.NewScanner(stdout)
	await := func(prefix string) string {
		t.Helper()
		for out.Scan() {
			if line := out.Text(); strings.HasPrefix(line, prefix) {
				return strings.TrimPrefix(line, prefix)
			}
		}
		t.Fatalf("child ended before %q", prefix)
		return ""
	}
	addr := await("addr ")
	a := wstest.Dial(t, addr, wsPath)
	a.SendText("before")
	a.ExpectText("before")

	fmt.Fprintln(stdin, "fill")
	await("full ")
	b := dialRaw(t, addr)
	_ = b.SetReadDeadline(time.Now().Add(waitTimeout))
	got, err := io.ReadAll(b)
	if !strings.HasPrefix(string(got), "HTTP/1.1 503") && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("with the table full, a new connection read %q, %v; want a 503 or a reset", got, err)
	}
	a.SendText("during")
	a.ExpectText("during")

	fmt.Fprintln(stdin, "free")
	await("freed")
	c := wstest.Dial(t, addr, wsPath)
	c.SendText("after")
	c.ExpectText("after")
	a.SendText("still")
	a.ExpectText("still")
	_ = a.Close()
	_ = c.Close()
	_ = stdin.Close()
	if res := await("--- "); !strings.HasPrefix(res, "PASS") {
		t.Errorf("child: %s", res)
	}
}

// TestEMFILEChild is TestEMFILE's server: it runs only as its child.
func TestEMFILEChild(t *testing.T) {
	if os.Getenv("WSHUB_EMFILE_CHILD") == "" {
		t.Skip("run by TestEMFILE")
	}
	srv, addr := serve(t, echo(), engine.WithLoops(1))
	fmt.Println("addr", addr)
	in := bufio.NewScanner(os.Stdin)
	var files []*os.File
	for in.Scan() {
		switch in.Text() {
		case "fill":
			for {
				f, err := os.Open(os.DevNull)
				if err != nil {
					break
				}
				files = append(files, f)
			}
			fmt.Println("full", len(files))
		case "free":
			for _, f := range files {
				_ = f.Close()
			}
			files = nil
			fmt.Println("freed")
		}
	}
	if srv.Stats().AcceptErrors == 0 {
		t.Error("no accept failed with the table full")
	}
}
