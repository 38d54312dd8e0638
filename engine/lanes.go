package engine

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
)

// lanes are the event loops, one gnet Client (a gnet engine of one loop)
// each, so that the server, not gnet, picks the loop of a new socket.
// gnet's Enroll picks by its engine's load balancer, and with several
// accept goroutines enrolling at once neither of its usable policies holds:
// round-robin's counter is a plain increment they race on, and
// least-connections reads counts that another Enroll in flight has not
// raised yet, so concurrent sockets pile onto one loop. Here the pick and
// the count it is based on change together under one short lock, taken
// for a few nanoseconds, never across the wait for the loop.
type lanes struct {
	mu  sync.Mutex // guards the pick: each lane's open count is read and raised together
	all []*lane
}

// lane is one event loop and the sockets on it.
type lane struct {
	cli     *gnet.Client
	open    atomic.Int64 // sockets opened on the loop (OnOpen) and not yet closed (OnClose)
	pending atomic.Int64 // sockets picked for the loop whose Enroll has not returned
}

// load is what the pick compares.
func (l *lane) load() int64 { return l.open.Load() + l.pending.Load() }

// start makes and starts n lanes; on an error the ones started are stopped.
func (ls *lanes) start(s *Server, n int) error {
	ls.all = make([]*lane, 0, n)
	for range n {
		cli, err := gnet.NewClient(&events{s: s},
			gnet.WithNumEventLoop(1),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			gnet.WithWriteBufferCap(writeBufferCap),
			gnet.WithLogger(gnetLogger{s}),
		)
		if err == nil {
			err = cli.Start()
		}
		if err != nil {
			ls.stop()
			return err
		}
		ls.all = append(ls.all, &lane{cli: cli})
	}
	return nil
}

// pick returns the lane with the fewest sockets, counting this one in.
func (ls *lanes) pick() *lane {
	ls.mu.Lock()
	best, least := ls.all[0], ls.all[0].load()
	for _, l := range ls.all[1:] {
		if n := l.load(); n < least {
			best, least = l, n
		}
	}
	best.pending.Add(1)
	ls.mu.Unlock()
	return best
}

// enroll hands tc to the least loaded loop; OnOpen has run there when it
// returns, unless the loop could not take the socket. The lane rides in
// the gnet context until OnOpen counts the socket in and takes its place.
func (ls *lanes) enroll(tc *net.TCPConn) error {
	l := ls.pick()
	_, err := l.cli.EnrollContext(tc, l)
	l.pending.Add(-1)
	return err
}

// sockets counts the sockets on the loops (handshaking, open or closing)
// and those on their way to one: the descriptors the loops hold.
func (ls *lanes) sockets() int64 {
	var n int64
	for _, l := range ls.all {
		n += l.load()
	}
	return n
}

// stop stops every lane's loop, all at once.
func (ls *lanes) stop() {
	var wg sync.WaitGroup
	for _, l := range ls.all {
		wg.Go(func() { _ = l.cli.Stop() })
	}
	wg.Wait()
}

// What gnet's outbound buffer spends on what the kernel does not take, for
// the backlog cap (hub.Config.BufferCost). gnet v2 keeps it in a ring of up
// to writeBufferCap bytes first, then copies each further piece it is
// handed into a pooled buffer rounded up to a power of two (exact above 2
// GiB), on a list node of 32 bytes; a buffer goes back to the pool only
// once all of it is sent. The ring's own rounding is the slack counted on
// top (hub.Config.BufferSlack).
const (
	writeBufferCap = 16 << 10
	gnetNodeSize   = 32 // linkedlist.node: a slice and a pointer
)
