package bench

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// agent holds one process's share of the connections: a gnet client whose
// event loops serve them, and the dialer that opens them. Its methods run on
// one goroutine (the driver's, or a worker's stdin loop).
type agent struct {
	cfg   Config
	nodes []string // the node addresses (Config.nodes)
	cli   *gnet.Client
	dial  *dialer

	mu    sync.Mutex
	byEL  map[gnet.EventLoop]*loop // guarded by mu
	loops []*loop                  // guarded by mu

	peers       []*peer
	connected   int
	expected    int64
	connectedBy []int   // connected, per node
	expectedBy  []int64 // expected, per node
	echoEnd     int64
	paceStop    context.CancelFunc
	paceDone    chan struct{}
	stopping    atomic.Bool
}

// newAgent starts a gnet client with cfg.Loops event loops and a dialer
// with cfg.DialWorkers workers at cfg.DialRate/cfg.Procs per second.
func newAgent(cfg Config) (*agent, error) {
	a := &agent{cfg: cfg, nodes: cfg.nodes(), byEL: make(map[gnet.EventLoop]*loop)}
	a.connectedBy, a.expectedBy = make([]int, len(a.nodes)), make([]int64, len(a.nodes))
	cli, err := gnet.NewClient(&handler{a: a},
		gnet.WithNumEventLoop(cfg.Loops),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogger(gnetLogger{}),
	)
	if err != nil {
		return nil, err
	}
	if err = cli.Start(); err != nil {
		return nil, err
	}
	a.cli = cli
	rate := max(cfg.DialRate/cfg.Procs, 1)
	a.dial = newDialer(cfg.Compression, rate, cfg.DialWorkers, MaxConnsPerProc, a.enroll)
	return a, nil
}

// enroll hands an upgraded socket to the gnet client; OnOpen has run when
// it returns. The peer travels as the connection's context.
func (a *agent) enroll(p *peer, c net.Conn) error {
	_, err := a.cli.EnrollContext(c, p)
	return err
}

// loopOf returns the state of event loop el, creating it on first use.
// Safe from any goroutine.
func (a *agent) loopOf(el gnet.EventLoop) *loop {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.byEL[el]
	if l == nil {
		l = newLoop(a, el)
		a.byEL[el] = l
		a.loops = append(a.loops, l)
	}
	return l
}

func (a *agent) loopList() []*loop {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*loop(nil), a.loops...)
}

// onLoops runs fn on every event loop, once per loop, and waits.
func (a *agent) onLoops(fn func(l *loop)) error {
	loops := a.loopList()
	done := make(chan struct{}, len(loops))
	for _, l := range loops {
		err := l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			fn(l)
			done <- struct{}{}
			return nil
		}))
		if err != nil {
			return err
		}
	}
	for range loops {
		<-done
	}
	return nil
}

// handle runs one request.
func (a *agent) handle(req request) response {
	var r response
	var err error
	switch req.Op {
	case opConnect:
		r, err = a.connect(req.First, req.Count)
	case opWarmup:
		r, err = a.warmup(req.Deadline)
	case opGo:
		r, err = a.start(req.At)
	case opResults:
		r, err = a.results(req.Deadline)
	case opReconnect:
		r, err = a.reconnect(req.Deadline)
	case opClose:
		r, err = response{Event: "closed"}, a.close()
	default:
		err = fmt.Errorf("bench: unknown agent operation %q", req.Op)
	}
	if err != nil {
		r.Error = err.Error()
	}
	r.CPU, _ = ProcessCPU(0)
	return r
}

// newPeer creates connection i with its scenario role and node.
func (a *agent) newPeer(i int) *peer {
	c := &a.cfg
	n := len(a.nodes)
	node := c.node(i, n)
	p := &peer{id: uint32(i), target: c.target(i), src: c.source(i, n), node: node, addr: a.nodes[node]}
	switch c.Scenario {
	case ScenarioBroadcast:
		p.pub, p.warmer = i == 0, i == 0
	case ScenarioRooms:
		p.pub, p.warmer = true, i < c.Rooms
		p.offset = jitter(i, c.interval())
	case ScenarioEcho:
		p.warmer = true
	case ScenarioInflate:
		p.pub, p.warmer = true, true
	}
	return p
}

// jitter spreads start offsets over [0, interval) deterministically, so
// that every process computes the same plan (golden-ratio sequence).
func jitter(i int, interval time.Duration) int64 {
	_, frac := math.Modf(float64(i) * 0.6180339887498949)
	return int64(frac * float64(interval))
}

// close stops dialing and sending and closes every connection.
func (a *agent) close() error {
	a.stopping.Store(true)
	a.stopPacer()
	a.dial.close()
	return a.cli.Stop()
}

// waitUntil polls cond every millisecond until it holds or the deadline
// (Unix ns) passes.
func waitUntil(deadline int64, cond func() bool) {
	for !cond() && time.Now().UnixNano() < deadline {
		time.Sleep(time.Millisecond)
	}
}

// gnetLogger keeps gnet's own log quiet but for errors.
type gnetLogger struct{}

func (gnetLogger) Debugf(string, ...any) {}
func (gnetLogger) Infof(string, ...any)  {}
func (gnetLogger) Warnf(string, ...any)  {}
func (gnetLogger) Errorf(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "wsbench: gnet: "+f+"\n", a...)
}
func (gnetLogger) Fatalf(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "wsbench: gnet: "+f+"\n", a...)
}
