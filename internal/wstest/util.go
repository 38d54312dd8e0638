package wstest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// Eventually polls cond every millisecond until it holds, failing the test
// after Timeout.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", Timeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// LockedBuffer collects a log written from event loops. Safe from any
// goroutine.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Abbrev shortens a payload for a failure message.
func Abbrev(p []byte) string {
	if len(p) <= 32 {
		return fmt.Sprintf("%q", p)
	}
	return fmt.Sprintf("%q...(%d bytes)", p[:32], len(p))
}

// Payload returns n bytes for op: valid UTF-8 with multi-byte runes for
// text, every byte value for binary.
func Payload(op ws.OpCode, n int) []byte {
	p := make([]byte, 0, n)
	if op == ws.OpText {
		runes := []rune("aé€𝄞 wörld ")
		for i := 0; ; i++ {
			r := string(runes[i%len(runes)])
			if len(p)+len(r) > n {
				break
			}
			p = append(p, r...)
		}
		for len(p) < n {
			p = append(p, 'z')
		}
		return p
	}
	for i := range n {
		p = append(p, byte(i*7+i/251))
	}
	return p
}

// ParallelN runs fn(i) for i in [0, n) on at most workers goroutines and
// waits for all of them.
func ParallelN(n, workers int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
