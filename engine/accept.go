package engine

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wshub/wshub/internal/ratelog"
)

// The server accepts its connections itself, on a few goroutines, and hands
// each accepted socket to an event loop (gnet's Client.Enroll). gnet's own
// acceptor shuts the whole engine down at the first EMFILE; this one
// sheds load instead:
//
//   - Past the descriptor budget (fdCap, from RLIMIT_NOFILE less a
//     reserve) or past MaxHandshakes handshakes in progress, a new socket
//     gets a canned 503 and is closed at once: it never reaches a loop.
//   - At EMFILE or ENFILE (descriptors taken by something else in the
//     process, or by the system), one spare descriptor held for the purpose
//     is let go, so that the next pending connection can be accepted and
//     closed rather than left to hang in the kernel's queue; while no
//     descriptor frees up, accepting backs off (1 ms doubling to 100 ms).
//   - AcceptRate, if set, spaces out accepts: pending connections wait in
//     the kernel's queue.
//
// Below those, MaxConns and MaxConnsPerIP are enforced at the handshake,
// with an HTTP 503 or 429 and Retry-After (see upgrade).

// acceptors is the number of accept goroutines. Enroll waits for the loop
// to take the socket; with several of them, accepting goes on meanwhile.
const acceptors = 4

// acceptor is the accept goroutines' shared state; mu guards what the
// rare paths (EMFILE, rate limit, shed log) touch.
type acceptor struct {
	ln      *net.TCPListener
	wg      sync.WaitGroup
	mu      sync.Mutex
	reserve *os.File // a spare descriptor, let go at EMFILE
	bucket  tokenBucket
	shedLog ratelog.Limiter
}

// serve starts the accept goroutines; accepting ends when the listener
// closes. A listener that fails for good stops the server, and Wait
// reports why.
func (s *Server) serve() {
	a := &s.acc
	a.takeReserve()
	for range acceptors {
		a.wg.Add(1)
		go s.acceptLoop()
	}
	a.wg.Wait()
	a.mu.Lock()
	if a.reserve != nil {
		_ = a.reserve.Close()
		a.reserve = nil
	}
	a.mu.Unlock()
	close(s.accepting)
}

func (s *Server) acceptLoop() {
	a := &s.acc
	defer a.wg.Done()
	var backoff time.Duration
	for {
		if a.bucket.rate > 0 {
			a.mu.Lock()
			a.bucket.wait()
			a.mu.Unlock()
		}
		tc, err := a.ln.AcceptTCP()
		if err == nil {
			backoff = 0
			s.admit(tc)
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if !s.acceptFailed(err, &backoff) {
			go s.fatal(err)
			return
		}
	}
}

// acceptFailed handles an accept error and reports whether accepting can
// go on.
func (s *Server) acceptFailed(err error, backoff *time.Duration) bool {
	a := &s.acc
	s.stats.acceptErrors.Add(1)
	if n, ok := a.allowLog(); ok {
		s.log.Warn("accept failed", "err", err, "open", s.lanes.sockets(), "suppressed", n)
	}
	if fdExhausted(err) && a.letGo() {
		return true // the next accept gets the spare descriptor
	}
	if fdExhausted(err) || isTemporary(err) {
		*backoff = min(max(2**backoff, time.Millisecond), 100*time.Millisecond)
		time.Sleep(*backoff)
		return true
	}
	return false
}

// admit hands an accepted socket to a loop, or sheds it.
func (s *Server) admit(tc *net.TCPConn) {
	a := &s.acc
	switch {
	case !a.haveReserve():
		s.shed(tc, "out of file descriptors")
	case int(s.lanes.sockets()) >= s.lim.fdCap:
		s.shed(tc, "descriptor budget reached")
	case int(s.handshaking.Load()) >= s.lim.maxHandshakes:
		s.shed(tc, "too many handshakes in progress")
	default:
		// Enroll duplicates the descriptor into the loop and closes tc;
		// OnOpen has run on the loop when it returns.
		if err := s.lanes.enroll(tc); err != nil {
			s.stats.shed.Add(1)
			s.log.Warn("enroll failed", "remote", tc.RemoteAddr(), "err", err)
		}
	}
}

// cannedBusy is what a shed connection gets: it has not been read, so the
// answer cannot depend on the request.
const cannedBusy = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\nContent-Length: 12\r\nConnection: close\r\n\r\nserver busy\n"

// shed answers a connection that cannot be served with a canned 503 and
// closes it. What the client sent so far is read first, so that closing
// does not reset the connection under the answer. It never blocks.
func (s *Server) shed(tc *net.TCPConn, why string) {
	s.stats.shed.Add(1)
	if n, ok := s.acc.allowLog(); ok {
		s.log.Warn("connection shed", "remote", tc.RemoteAddr(), "why", why,
			"open", s.lanes.sockets(), "handshaking", s.handshaking.Load(), "suppressed", n)
	}
	if rc, err := tc.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			var buf [4096]byte
			_, _ = unix.Read(int(fd), buf[:]) // non-blocking: Go's sockets are
			_, _ = unix.Write(int(fd), []byte(cannedBusy))
			_ = unix.Shutdown(int(fd), unix.SHUT_WR)
		})
	}
	_ = tc.Close()
}

// takeReserve opens the spare descriptor.
func (a *acceptor) takeReserve() bool {
	f, err := os.Open(os.DevNull)
	if err != nil {
		return false
	}
	a.reserve = f
	return true
}

// haveReserve makes sure the spare descriptor is held: false means none
// could be opened (the descriptor table is full).
func (a *acceptor) haveReserve() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reserve != nil || a.takeReserve()
}

// letGo closes the spare descriptor, if held.
func (a *acceptor) letGo() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.reserve == nil {
		return false
	}
	_ = a.reserve.Close()
	a.reserve = nil
	return true
}

// allowLog is the shed and accept-error log's limiter, under the lock.
func (a *acceptor) allowLog() (suppressed int, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.shedLog.Allow()
}

func fdExhausted(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

func isTemporary(err error) bool {
	return errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EINTR) ||
		errors.Is(err, syscall.EPROTO)
}

// tokenBucket spaces out accepts to rate per second, in bursts of up to
// rate; a zero rate never waits. One goroutine only.
type tokenBucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

func (b *tokenBucket) wait() {
	if b.rate <= 0 {
		return
	}
	now := time.Now()
	b.tokens = min(b.rate, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		d := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
		time.Sleep(d)
		b.last = b.last.Add(d)
		b.tokens = 1
	}
	b.tokens--
}
