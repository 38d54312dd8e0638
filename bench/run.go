package bench

import (
	"context"
	"fmt"
	"io"
	"time"
)

// warm-up tries: a server may put a connection into its room a little
// after the 101, so the first measured message waits until every
// connection has received a warm-up message.
const (
	warmupTries   = 3
	warmupTimeout = 3 * time.Second
)

// startDelay leaves the agents time to receive "go" before sending starts.
const startDelay = 20 * time.Millisecond

// Run runs cfg.Scenario against the server at cfg.Addr and returns the
// result, whose OK says whether every message and connection made it. The
// error is for a run that could not be set up. Progress goes to log.
func Run(ctx context.Context, cfg Config, log io.Writer) (*Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg, warning := sinkOrEcho(cfg)
	f, err := newFleet(cfg)
	if err != nil {
		return nil, err
	}
	defer f.stop()
	d := &driver{cfg: cfg, f: f, log: log, res: newResult(cfg)}
	for _, w := range []string{warning, cfg.sourceWarning()} {
		if w != "" {
			d.logf("%s", w)
			d.res.warn("%s", w)
		}
	}
	if err := d.waitCluster(); err != nil {
		return nil, err
	}
	switch cfg.Scenario {
	case ScenarioIdle:
		err = d.idle()
	case ScenarioBroadcast, ScenarioRooms, ScenarioEcho, ScenarioInflate:
		err = d.messages()
	case ScenarioConnect:
		err = d.connectScenario(ctx)
	}
	if err != nil {
		return nil, err
	}
	d.finish()
	return d.res, nil
}

func newResult(cfg Config) *Result {
	r := &Result{
		Time: time.Now().UTC(), Scenario: cfg.Scenario, Name: cfg.Scenario,
		Label: cfg.Label, Host: ReadHost(), OK: true,
		Params: Params{
			Size: cfg.Size, Payload: cfg.Payload, Compress: cfg.Compression,
			DialRate: cfg.DialRate, Procs: cfg.Procs, Loops: cfg.Loops, Sources: len(cfg.Sources),
		},
	}
	if cfg.Compression {
		r.Compression = &Compression{}
	}
	if r.Label == "" {
		r.Label = cfg.Addr
	}
	if r.Nodes = newNodes(cfg); r.Nodes != nil {
		r.Params.Nodes = len(r.Nodes)
	}
	p := &r.Params
	switch cfg.Scenario {
	case ScenarioIdle:
		p.IdleAt, p.Size, p.Payload = cfg.IdleAt, 0, ""
	case ScenarioInflate:
		p.Conns, p.Msgs = cfg.Conns, cfg.Msgs
		r.Inflate = &Inflate{Target: cfg.Target}
	case ScenarioBroadcast:
		r.Name = cfg.Scenario + "-" + cfg.Mode
		p.Conns, p.Msgs, p.Mode = cfg.Conns, cfg.Msgs, cfg.Mode
		if cfg.Mode == ModeSteady {
			p.Rate = cfg.Rate
		}
	case ScenarioRooms:
		p.Rooms, p.Members, p.Rate, p.Duration = cfg.Rooms, cfg.Members, cfg.Rate, cfg.Duration.Seconds()
	case ScenarioEcho:
		p.Conns, p.Duration = cfg.Conns, cfg.Duration.Seconds()
	case ScenarioConnect:
		p.Conns, p.Size, p.Payload = cfg.Conns, 0, ""
	}
	r.Name += nameSuffix(cfg)
	if cfg.cluster() {
		r.Name = "cluster-" + r.Name
	}
	if cfg.Name != "" {
		r.Name = cfg.Name
	}
	return r
}

// nameSuffix tells compressed runs and JSON payloads apart in the tables:
// -z with compression, else -json for the JSON payload.
func nameSuffix(cfg Config) string {
	switch {
	case cfg.Scenario == ScenarioInflate:
		return ""
	case cfg.Compression:
		return "-z"
	case cfg.Payload == PayloadJSON && cfg.Scenario != ScenarioIdle && cfg.Scenario != ScenarioConnect:
		return "-json"
	}
	return ""
}

// driver runs one scenario over a fleet and fills in the result.
type driver struct {
	cfg     Config
	f       *fleet
	log     io.Writer
	res     *Result
	natsCPU float64 // the NATS server's CPU seconds in the measured phase
}

func (d *driver) logf(format string, args ...any) {
	fmt.Fprintf(d.log, "wsbench: "+format+"\n", args...)
}

// connect opens connections first … first+count-1 and adds them to the
// result; it returns the handshake times and the wall time taken.
func (d *driver) connect(first, count int) (*Histogram, time.Duration, error) {
	start := time.Now()
	resps, err := d.f.connect(first, count)
	elapsed := time.Since(start)
	if err != nil {
		return nil, 0, err
	}
	h := new(Histogram)
	for _, r := range resps {
		d.res.Conns += r.Connected
		d.res.ConnFailed += r.Failed
		for k, n := range r.Errors {
			if d.res.ConnErrors == nil {
				d.res.ConnErrors = make(map[string]int)
			}
			d.res.ConnErrors[k] += n
		}
		if r.Handshake != nil {
			h.Merge(r.Handshake)
		}
		if c := d.res.Compression; c != nil {
			c.Negotiated += r.Negotiated
			if c.Answer == "" {
				c.Answer = r.Answer
			}
		}
	}
	d.logf("%d connections open (%d failed) in %.2f s", d.res.Conns, d.res.ConnFailed, elapsed.Seconds())
	return h, elapsed, nil
}

// warmup waits until every connection received a warm-up message,
// re-sending it up to warmupTries times.
func (d *driver) warmup() error {
	missing := 0
	for range warmupTries {
		deadline := time.Now().Add(warmupTimeout).UnixNano()
		resps, err := d.f.same(request{Op: opWarmup, Deadline: deadline})
		if err != nil {
			return err
		}
		missing = 0
		for _, r := range resps {
			missing += r.Missing
		}
		if missing == 0 {
			return nil
		}
	}
	d.res.fail("%d connections never received the warm-up message (not in their room?)", missing)
	return nil
}

// cpuMark is a point in time with the CPU counters of the server and of
// every client process.
type cpuMark struct {
	wall   time.Time
	server float64   // every node together
	nodes  []float64 // cluster runs: each node
	nats   float64   // cluster runs: the NATS server
	self   float64
	agents []float64 // worker processes only
}

// mark reads the counters; resps are the agents' latest responses.
func (d *driver) mark(resps []response) cpuMark {
	m := cpuMark{wall: time.Now()}
	m.self, _ = ProcessCPU(0)
	for k := range max(len(d.res.Nodes), 1) {
		var cpu float64
		if pid := d.cfg.nodePID(k); pid > 0 {
			cpu, _ = ProcessCPU(pid)
		}
		m.server += cpu
		m.nodes = append(m.nodes, cpu)
	}
	if d.cfg.NATSPID > 0 {
		m.nats, _ = ProcessCPU(d.cfg.NATSPID)
	}
	if d.f.remote {
		for _, r := range resps {
			m.agents = append(m.agents, r.CPU)
		}
	}
	return m
}

// account sets the CPU figures of the phase between a and b.
func (d *driver) account(a, b cpuMark) {
	d.res.Server.CPUSeconds = b.server - a.server
	for k := range d.res.Nodes {
		d.res.Nodes[k].CPUSeconds = b.nodes[k] - a.nodes[k]
	}
	d.natsCPU = b.nats - a.nats
	c := b.self - a.self
	for i, cpu := range b.agents {
		if i < len(a.agents) {
			cpu -= a.agents[i]
		}
		c += cpu // a worker without a start mark counts from its start
	}
	d.res.Client.CPUSeconds = c
	d.res.Client.Phase = b.wall.Sub(a.wall).Seconds()
}

// finish takes the server's memory at the end and turns counts into
// failures.
func (d *driver) finish() {
	r := d.res
	if pid := d.cfg.ServerPID; pid > 0 {
		r.Server.PID = pid
		r.Server.RSS, _ = ProcessRSS(pid)
	}
	if len(r.Nodes) > 0 {
		r.Server.RSS = 0
		for k := range r.Nodes {
			if pid := d.cfg.nodePID(k); pid > 0 {
				r.Nodes[k].RSS, _ = ProcessRSS(pid)
				r.Server.RSS += r.Nodes[k].RSS
			}
		}
	}
	r.Server.Stats = d.stats()
	r.judgeClient()
	if r.ConnFailed > 0 {
		r.fail("%d of %d connections failed: %s", r.ConnFailed, r.ConnFailed+r.Conns, describeErrors(r.ConnErrors))
	}
	if c := r.Compression; c != nil && c.Negotiated < r.Conns {
		r.fail("compressed: %d of %d connections negotiated permessage-deflate: the server declined it", c.Negotiated, r.Conns)
	}
	if r.Dropped > 0 && r.Reconnect == nil {
		r.fail("%d connections were closed by the server or an error during the run", r.Dropped)
	}
	if r.Lost > 0 {
		r.fail("%d of %d messages lost (not delivered %s after sending ended)", r.Lost, r.Expected, d.cfg.Drain)
	}
	if r.Delivered > r.Expected && r.Expected > 0 {
		r.fail("%d deliveries more than expected (duplicates)", r.Delivered-r.Expected)
	}
}

// stats fetches the stats URL, if any; a server without one is fine.
func (d *driver) stats() *ServerStats {
	if d.cfg.StatsURL == "" {
		return nil
	}
	s, err := FetchStats(d.cfg.StatsURL)
	if err != nil {
		d.logf("stats: %v", err)
	}
	return s
}
