package wstest

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// ignoredGoroutines are goroutines that outlive every test by design:
// signal handling, and the housekeeping of gnet's package-level ants
// worker pool (gnet/v2/pkg/pool/goroutine.DefaultWorkerPool, made in a
// package variable initialiser and never released).
var ignoredGoroutines = []string{
	"os/signal.signal_recv",
	"os/signal.loop",
	"github.com/panjf2000/ants/v2.",
}

// VerifyNoLeaks runs the tests, then fails the package if a goroutine
// started during them is still running after Timeout: every server is
// stopped by its test's cleanup, so one left behind is a leak (per
// connection, per server or per Stop). Goroutines whose stack contains one
// of ignore are not counted. Call it from TestMain; it exits.
func VerifyNoLeaks(m *testing.M, ignore ...string) { os.Exit(RunNoLeaks(m, ignore...)) }

// RunNoLeaks is VerifyNoLeaks returning the exit code instead of exiting,
// for a TestMain with more to clean up.
func RunNoLeaks(m *testing.M, ignore ...string) int {
	before := goroutineIDs(stacks())
	code := m.Run()
	if code == 0 {
		if left := leaked(before, append(ignore, ignoredGoroutines...)); left != "" {
			fmt.Fprintf(os.Stderr, "wstest: goroutines left running after the tests:\n\n%s\n", left)
			code = 1
		}
	}
	return code
}

// leaked waits up to Timeout for the goroutines not in before (and not
// ignored) to end, and returns the stacks of those that did not.
func leaked(before map[string]bool, ignore []string) string {
	deadline := time.Now().Add(Timeout)
	for {
		var left []string
		self := true // the first stack is this goroutine's
		for _, g := range stacks() {
			if self {
				self = false
				continue
			}
			if !before[goroutineID(g)] && !contains(g, ignore) {
				left = append(left, g)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return strings.Join(left, "\n\n")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stacks returns the stack of every goroutine, the caller's first.
func stacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Split(strings.TrimSpace(string(buf[:n])), "\n\n")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// goroutineID returns N of a stack that starts "goroutine N [state]:".
func goroutineID(stack string) string {
	f := strings.Fields(stack)
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

func goroutineIDs(stacks []string) map[string]bool {
	ids := make(map[string]bool, len(stacks))
	for _, s := range stacks {
		ids[goroutineID(s)] = true
	}
	return ids
}

func contains(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
