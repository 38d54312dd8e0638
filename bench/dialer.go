package bench

import (
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Dial timing.
const (
	handshakeTimeout = 10 * time.Second
	firstBackoff     = 50 * time.Millisecond
	maxBackoff       = 2 * time.Second
)

// dialJob asks a dial worker to open p. done receives the outcome of a
// first dial; a redial (done == nil) retries with backoff on failure.
type dialJob struct {
	p    *peer
	done chan<- dialResult
}

type dialResult struct {
	p         *peer
	err       error
	handshake time.Duration  // dial + opening handshake
	deflate   *deflateParams // the permessage-deflate negotiated, nil = none
}

// dialer opens connections with a few workers at a bounded rate: dial from
// the peer's source address, upgrade synchronously on the net.Conn, then
// hand the socket to the gnet client.
type dialer struct {
	compress bool // offer permessage-deflate
	limit    limiter
	jobs     chan dialJob
	stop     chan struct{}
	wg       sync.WaitGroup
	enroll   func(p *peer, c net.Conn) error
	redials  atomic.Int64
}

func newDialer(compress bool, rate, workers, maxConns int, enroll func(*peer, net.Conn) error) *dialer {
	d := &dialer{
		compress: compress,
		limit:    limiter{every: time.Second / time.Duration(rate)},
		jobs:     make(chan dialJob, maxConns+workers),
		stop:     make(chan struct{}),
		enroll:   enroll,
	}
	d.wg.Add(workers)
	for range workers {
		go d.work()
	}
	return d
}

// close stops the workers and waits for them.
func (d *dialer) close() {
	close(d.stop)
	d.wg.Wait()
}

func (d *dialer) work() {
	defer d.wg.Done()
	for {
		select {
		case <-d.stop:
			return
		case job := <-d.jobs:
			if !d.limit.wait(d.stop) {
				return
			}
			start := time.Now()
			err := d.open(job.p)
			if job.done != nil {
				job.done <- dialResult{p: job.p, err: err, handshake: time.Since(start), deflate: job.p.deflate}
			} else if err != nil {
				d.retry(job.p)
			}
		}
	}
}

// open dials p's node, upgrades and enrolls p.
func (d *dialer) open(p *peer) error {
	nd := net.Dialer{
		LocalAddr: &net.TCPAddr{IP: p.src.AsSlice()},
		Timeout:   handshakeTimeout,
		Control:   bindNoPort,
	}
	c, err := nd.Dial("tcp", p.addr)
	if err != nil {
		return err
	}
	if c.LocalAddr().String() == c.RemoteAddr().String() {
		// While nothing listens on a loopback port in the ephemeral range,
		// connect(2) may pick that very port as its source and connect the
		// socket to itself (TCP simultaneous open), which also keeps a
		// restarting server from binding it: let it go at once.
		_ = c.Close()
		return errSelfConnect
	}
	p.pending, p.deflate, err = upgrade(c, p.addr, p.target, d.compress, time.Now().Add(handshakeTimeout))
	if err != nil {
		_ = c.Close()
		return err
	}
	return d.enroll(p, c)
}

// errSelfConnect is a dial that connected to itself: nothing listened.
var errSelfConnect = errors.New("bench: connected to itself: nothing listens on the server's address")

// retry redials p after its backoff, doubling it up to maxBackoff, with
// ±25% jitter. Safe from any goroutine; a timer, not a goroutine, waits.
func (d *dialer) retry(p *peer) {
	p.backoff = min(max(p.backoff*2, firstBackoff), maxBackoff)
	wait := time.Duration(float64(p.backoff) * (0.75 + rand.Float64()/2))
	d.redials.Add(1)
	time.AfterFunc(wait, func() {
		select {
		case d.jobs <- dialJob{p: p}:
		case <-d.stop:
		}
	})
}

// bindNoPort sets IP_BIND_ADDRESS_NO_PORT so that binding to a source
// address leaves the port to connect(2), which picks it per destination
// and may reuse TIME_WAIT ports: without it every bind takes a port of the
// source address for good, and ~28k connections exhaust it.
func bindNoPort(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
	if err != nil {
		return err
	}
	_ = serr // best effort: without it the dial still works, with fewer ports
	return nil
}

// limiter spaces events every apart, across goroutines; an idle limiter
// gives no burst credit.
type limiter struct {
	mu    sync.Mutex
	next  time.Time
	every time.Duration
}

// wait blocks until the caller's turn; false if stop closed first.
func (l *limiter) wait(stop <-chan struct{}) bool {
	l.mu.Lock()
	now := time.Now()
	t := l.next
	if t.Before(now) {
		t = now
	}
	l.next = t.Add(l.every)
	l.mu.Unlock()
	d := t.Sub(now)
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-stop:
		return false
	}
}
