package bench

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
)

// connect opens connections first … first+count-1 and waits for every
// dial to finish.
func (a *agent) connect(first, count int) (response, error) {
	if len(a.peers)+count > MaxConnsPerProc {
		return response{}, ErrTooManyConns
	}
	results := make(chan dialResult, count)
	for i := first; i < first+count; i++ {
		p := a.newPeer(i)
		a.peers = append(a.peers, p)
		a.dial.jobs <- dialJob{p: p, done: results}
	}
	r := response{Event: "ready", Handshake: new(Histogram)}
	for range count {
		res := <-results
		if res.err != nil {
			r.Failed++
			if r.Errors == nil {
				r.Errors = make(map[string]int)
			}
			r.Errors[errorKey(res.err)]++
			continue
		}
		r.Connected++
		a.connectedBy[res.p.node]++
		r.Handshake.Record(int64(res.handshake))
		if res.deflate != nil {
			r.Negotiated++
			if r.Answer == "" {
				r.Answer = res.deflate.raw
			}
		}
	}
	a.connected += r.Connected
	return r, nil
}

// errorKey names an error without the addresses and ports in it, so that
// equal failures count together.
func errorKey(err error) string {
	var errno syscall.Errno
	var he *HandshakeError
	switch {
	case errors.As(err, &he):
		return he.Error()
	case errors.As(err, &errno):
		return errno.Error()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "handshake timeout"
	}
	return err.Error()
}

// warmup sends the warm-up messages and waits until every open connection
// of this agent has received one, or the deadline.
func (a *agent) warmup(deadline int64) (response, error) {
	err := a.onLoops(func(l *loop) {
		for _, p := range l.peers {
			switch {
			case !p.warmer || p.loop != l:
			case a.cfg.Scenario == ScenarioInflate:
				l.probe(p, 0) // warm once its pong is back
			default:
				l.send(p, 0)
			}
		}
		l.flush()
	})
	if err != nil {
		return response{}, err
	}
	// Connections the server dropped will never warm up: they fail the
	// run on their own, so the wait ends without them.
	missing := func() int {
		var warm, dropped int64
		for _, l := range a.loopList() {
			warm += l.warm.Load()
			dropped += l.dropped.Load()
		}
		return max(a.connected-int(warm+dropped), 0)
	}
	waitUntil(deadline, func() bool { return missing() == 0 })
	return response{Event: "warm", Missing: missing()}, nil
}

// start begins the measured phase at Unix time at.
func (a *agent) start(at int64) (response, error) {
	c := &a.cfg
	var err error
	switch c.Scenario {
	case ScenarioBroadcast:
		interval := int64(0)
		if c.Mode == ModeSteady {
			interval = int64(c.interval())
		}
		a.expect(int64(c.Msgs))
		err = a.schedule(at, interval, uint64(c.Msgs))
	case ScenarioRooms:
		a.expect(int64(c.Members) * int64(c.quota()))
		err = a.schedule(at, int64(c.interval()), uint64(c.quota()))
	case ScenarioEcho:
		err = a.startEcho(at)
	case ScenarioInflate:
		a.expect(int64(c.Msgs))
		err = a.startInflate(at)
	}
	return response{Event: "going"}, err
}

// expect sets the deliveries expected: each connected client receives
// perConn measured messages.
func (a *agent) expect(perConn int64) {
	a.expected = int64(a.connected) * perConn
	for i, n := range a.connectedBy {
		a.expectedBy[i] = int64(n) * perConn
	}
}

// schedule plans every loop's sending and starts the pacer.
func (a *agent) schedule(at, interval int64, quota uint64) error {
	err := a.onLoops(func(l *loop) { l.plan(at, interval, quota) })
	if err != nil {
		return err
	}
	a.startPacer(pace)
	return nil
}

// startPacer runs fn over the loops in a goroutine of its own until
// stopPacer.
func (a *agent) startPacer(fn func(ctx context.Context, loops []*loop)) {
	ctx, cancel := context.WithCancel(context.Background())
	a.paceStop, a.paceDone = cancel, make(chan struct{})
	loops := a.loopList()
	go func() {
		defer close(a.paceDone)
		fn(ctx, loops)
	}()
}

// startEcho sends every connection's first message at at; each echo sends
// the next until the duration is over.
func (a *agent) startEcho(at int64) error {
	time.Sleep(time.Until(time.Unix(0, at)))
	a.echoEnd = at + int64(a.cfg.Duration)
	return a.onLoops(func(l *loop) {
		l.echoEnd = a.echoEnd
		for _, p := range l.peers {
			l.send(p, 1)
		}
		l.flush()
	})
}

// startInflate sends every connection's first message and its ping at
// at; each pong sends the next until every connection has sent its
// quota. Meanwhile a goroutine has each loop send again the pings whose
// pong is overdue, until results stops it.
func (a *agent) startInflate(at int64) error {
	time.Sleep(time.Until(time.Unix(0, at)))
	err := a.onLoops(func(l *loop) {
		for _, p := range l.peers {
			if p.loop == l {
				l.probe(p, 1)
			}
		}
	})
	if err != nil {
		return err
	}
	a.startPacer(repingLoops)
	return nil
}

// repingLoops has each loop send again its overdue pings, every quarter of
// repingAfter, until ctx ends.
func repingLoops(ctx context.Context, loops []*loop) {
	t := time.NewTicker(repingAfter / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, l := range loops {
			if l.el.Execute(ctx, l.reping) != nil {
				return
			}
		}
	}
}

// results waits until every expected message arrived, or the deadline, and
// reports what this agent saw.
func (a *agent) results(deadline int64) (response, error) {
	waitUntil(deadline, a.done)
	a.stopPacer()
	r := response{Event: "results", Latency: new(Histogram)}
	if a.cfg.Compression {
		r.Z = new(ZTraffic)
	}
	byNode := make([]Histogram, len(a.nodes))
	var mu sync.Mutex
	err := a.onLoops(func(l *loop) {
		zs := l.zs // a copy, on the loop
		mu.Lock()
		for i := range l.byNode {
			byNode[i].Merge(&l.byNode[i].hist)
		}
		if r.Z != nil {
			r.Z.add(&zs)
		}
		mu.Unlock()
	})
	for i := range byNode {
		r.Latency.Merge(&byNode[i])
	}
	if a.cfg.cluster() {
		r.Nodes = a.nodeShares(byNode)
	}
	for _, l := range a.loopList() {
		r.Sent += l.sent()
		r.Delivered += l.delivered()
		r.Open += l.open.Load()
		r.Dropped += l.dropped.Load()
		r.Bad += l.bad.Load()
		if why := l.badWhy.Load(); why != nil && r.BadWhy == "" {
			r.BadWhy = *why
		}
		for i := range l.byNode {
			r.Last = max(r.Last, l.byNode[i].last.Load())
		}
		if f := l.first.Load(); f != 0 && (r.First == 0 || f < r.First) {
			r.First = f
		}
	}
	r.Expected = a.expected
	if a.cfg.Scenario == ScenarioEcho {
		r.Expected = r.Sent
	}
	return r, err
}

// nodeShares is what this agent saw of each node; hists are the loops'
// latency histograms merged per node. Echo expects back what was sent.
func (a *agent) nodeShares(hists []Histogram) []nodeShare {
	out := make([]nodeShare, len(a.nodes))
	for i := range out {
		s := &out[i]
		s.Conns, s.Expected, s.Latency = a.connectedBy[i], a.expectedBy[i], &hists[i]
		for _, l := range a.loopList() {
			n := &l.byNode[i]
			s.Sent += n.sent.Load()
			s.Delivered += n.delivered.Load()
			s.Last = max(s.Last, n.last.Load())
		}
		if a.cfg.Scenario == ScenarioEcho {
			s.Expected = s.Sent
		}
	}
	return out
}

// done reports whether every expected message has arrived.
func (a *agent) done() bool {
	var delivered, sent int64
	loops := a.loopList()
	for _, l := range loops {
		delivered += l.delivered()
	}
	switch a.cfg.Scenario {
	case ScenarioBroadcast, ScenarioRooms, ScenarioInflate:
		return delivered >= a.expected
	case ScenarioEcho:
		// Delivered is read first: if it equals sent, nothing was in
		// flight at that moment, and after echoEnd nothing new is sent.
		for _, l := range loops {
			sent += l.sent()
		}
		return time.Now().UnixNano() >= a.echoEnd && delivered == sent
	}
	return true
}

func (a *agent) stopPacer() {
	if a.paceStop != nil {
		a.paceStop()
		<-a.paceDone
		a.paceStop = nil
	}
}

// reconnect waits until every connection that was open has reopened after
// the server restart, or the deadline.
func (a *agent) reconnect(deadline int64) (response, error) {
	reopened := func() int {
		n := 0
		for _, p := range a.peers {
			if p.opens.Load() >= 2 && p.isOpen() {
				n++
			}
		}
		return n
	}
	waitUntil(deadline, func() bool { return reopened() >= a.connected })
	r := response{Event: "reconnected", Reopened: reopened(), Redials: a.dial.redials.Load()}
	for _, l := range a.loopList() {
		r.LastOpen = max(r.LastOpen, l.lastOpen.Load())
		r.Dropped += l.dropped.Load()
		if f := l.firstDrop.Load(); f != 0 && (r.FirstDrop == 0 || f < r.FirstDrop) {
			r.FirstDrop = f
		}
	}
	return r, nil
}
