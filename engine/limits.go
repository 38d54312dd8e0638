package engine

import (
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"
)

// limits are the connection limits in force, resolved at Start.
type limits struct {
	fdCap         int // sockets on the loops past which accepting sheds
	maxConns      int // open connections past which handshakes get 503
	maxHandshakes int // handshakes in progress past which accepting sheds
}

// limits resolves the options against RLIMIT_NOFILE (which Go raises to
// the hard limit at start-up). The descriptor budget leaves a reserve for
// the listener, the pollers, the log and the application's own files;
// MaxConns defaults to the budget less room for the 503s that refuse the
// connections over it.
func (s *Server) limits() limits {
	nofile := 1 << 20
	var rl unix.Rlimit
	// Cur is uint64 on Linux and darwin, int64 on the BSDs; negative is
	// RLIM_INFINITY there.
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil && rl.Cur > 0 && uint64(rl.Cur) < uint64(nofile) {
		nofile = int(rl.Cur)
	}
	l := limits{fdCap: max(16, nofile-64-nofile/200)}
	l.maxConns = s.opts.MaxConns
	if l.maxConns <= 0 {
		l.maxConns = max(8, l.fdCap-max(32, nofile/100))
	}
	l.maxHandshakes = s.opts.MaxHandshakes
	if l.maxHandshakes <= 0 {
		l.maxHandshakes = min(4096, max(64, l.fdCap/4))
	}
	if l.maxConns > l.fdCap {
		s.log.Warn("MaxConns is over the descriptor budget; sockets past the budget are shed at accept",
			"max_conns", l.maxConns, "fd_budget", l.fdCap, "RLIMIT_NOFILE", nofile)
	}
	return l
}

// ipCounter counts open connections per client address, for
// MaxConnsPerIP. Safe from any goroutine.
type ipCounter struct {
	max int // 0: no limit
	mu  sync.Mutex
	n   map[netip.Addr]int32
}

// acquire counts one more connection from a, or reports false at the limit.
func (p *ipCounter) acquire(a netip.Addr) bool {
	if p.max <= 0 {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == nil {
		p.n = make(map[netip.Addr]int32)
	}
	if int(p.n[a]) >= p.max {
		return false
	}
	p.n[a]++
	return true
}

// release undoes one acquire.
func (p *ipCounter) release(a netip.Addr) {
	if p.max <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n[a] <= 1 {
		delete(p.n, a)
		return
	}
	p.n[a]--
}
