package bench

import (
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// restartTimeout bounds the restart command.
const restartTimeout = 2 * time.Minute

// idle opens the connections in two steps and measures the server's
// memory after each.
func (d *driver) idle() error {
	start := d.mark(nil)
	idle := &Idle{}
	prev := 0
	for _, n := range d.cfg.IdleAt {
		if _, _, err := d.connect(prev, n-prev); err != nil {
			return err
		}
		prev = n
		time.Sleep(d.cfg.Settle)
		p := IdlePoint{Conns: d.res.Conns}
		if d.cfg.ServerPID > 0 {
			p.RSS, _ = ProcessRSS(d.cfg.ServerPID)
		}
		if s := d.settledStats(); s != nil {
			p.ServerStats = *s
			d.collected(&p)
		}
		idle.Points = append(idle.Points, p)
		d.logf("%d connections: server RSS %.1f MiB", p.Conns, float64(p.RSS)/(1<<20))
	}
	resps, err := d.f.same(request{Op: opResults})
	if err != nil {
		return err
	}
	d.account(start, d.mark(resps))
	d.countResults(resps)
	slopes(idle)
	d.res.Idle = idle
	return nil
}

// settledStats samples the stats URL a few times and keeps the smallest
// heap: the heap in use swings with the server's GC cycle, and its low
// point is the closest to the live heap.
func (d *driver) settledStats() *ServerStats {
	var best *ServerStats
	for i := range 3 {
		if i > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		s := d.stats()
		if s == nil {
			return best
		}
		if best == nil || s.HeapInuse != nil && best.HeapInuse != nil && *s.HeapInuse < *best.HeapInuse {
			best = s
		}
	}
	return best
}

// slopes sets the bytes per added connection between the two points.
func slopes(idle *Idle) {
	a, b := idle.Points[0], idle.Points[len(idle.Points)-1]
	dn := float64(b.Conns - a.Conns)
	if dn <= 0 {
		return
	}
	idle.RSSPerConn = float64(b.RSS-a.RSS) / dn
	slope := func(x, y *int64) *float64 {
		if x == nil || y == nil {
			return nil
		}
		v := float64(*y-*x) / dn
		return &v
	}
	idle.HeapPerConn = slope(a.HeapInuse, b.HeapInuse)
	idle.StackPerConn = slope(a.StackInuse, b.StackInuse)
	idle.CollectedRSSPerConn = slope(a.CollectedRSS, b.CollectedRSS)
	idle.LivePerConn = slope(a.LiveHeap, b.LiveHeap)
}

// collected asks the server to collect its heap (stats URL with
// ?collect=1) and measures its live heap and RSS after that: what a server
// left idle settles to. A server whose stats do not report a live heap is
// left alone.
func (d *driver) collected(p *IdlePoint) {
	sep := "?"
	if strings.Contains(d.cfg.StatsURL, "?") {
		sep = "&"
	}
	s, err := FetchStats(d.cfg.StatsURL + sep + "collect=1")
	if err != nil || s == nil || s.HeapAlloc == nil {
		return
	}
	p.LiveHeap = s.HeapAlloc
	if d.cfg.ServerPID > 0 {
		if rss, err := ProcessRSS(d.cfg.ServerPID); err == nil {
			p.CollectedRSS = &rss
		}
	}
}

// messages runs broadcast, rooms, echo and inflate: connect, warm up,
// send, wait for every delivery (or the drain timeout), then count.
func (d *driver) messages() error {
	c := &d.cfg
	n := c.totalConns()
	if _, _, err := d.connect(0, n); err != nil {
		return err
	}
	if d.res.Conns == 0 {
		d.res.fail("no connection opened")
		return nil
	}
	if err := d.warmup(); err != nil {
		return err
	}
	var peak *peakSampler
	if c.Scenario == ScenarioInflate {
		peak = d.startPeak()
	}
	c0 := d.clusterMark()
	at := time.Now().Add(startDelay)
	m0 := d.mark(nil)
	goResps, err := d.f.same(request{Op: opGo, At: at.UnixNano()})
	if err != nil {
		return err
	}
	m0.agents = d.mark(goResps).agents
	deadline := at.Add(d.sendingTime() + c.Drain)
	d.logf("sending; waiting for deliveries until %s at the latest", deadline.Format("15:04:05.000"))
	resps, err := d.f.same(request{Op: opResults, Deadline: deadline.UnixNano()})
	if err != nil {
		return err
	}
	d.account(m0, d.mark(resps))
	d.countResults(resps)
	d.natsFigures(c0, d.clusterMark())
	if peak != nil {
		d.inflateFigures(peak.stop())
	}
	return nil
}

// sendingTime is how long the plan takes to send everything; 0 for a
// burst, and for inflate's closed loop, which the drain time bounds.
func (d *driver) sendingTime() time.Duration {
	c := &d.cfg
	switch c.Scenario {
	case ScenarioBroadcast:
		if c.Mode == ModeSteady {
			return time.Duration(float64(c.Msgs) / c.Rate * float64(time.Second))
		}
	case ScenarioRooms:
		return c.interval() * time.Duration(c.quota())
	case ScenarioEcho:
		return c.Duration
	}
	return 0
}

// countResults adds up the agents' results.
func (d *driver) countResults(resps []response) {
	r := d.res
	h := new(Histogram)
	var first, last int64
	for _, a := range resps {
		r.Sent += a.Sent
		r.Expected += a.Expected
		r.Delivered += a.Delivered
		r.Dropped += a.Dropped
		if a.Bad > 0 {
			r.fail("%d malformed messages or protocol errors (first: %s)", a.Bad, a.BadWhy)
		}
		if a.Latency != nil {
			h.Merge(a.Latency)
		}
		if a.First != 0 && (first == 0 || a.First < first) {
			first = a.First
		}
		last = max(last, a.Last)
	}
	r.Lost = max(r.Expected-r.Delivered, 0)
	if c := r.Compression; c != nil {
		for _, a := range resps {
			if a.Z != nil {
				c.add(a.Z)
			}
		}
	}
	if h.Count() > 0 {
		r.Latency = newLatency(h)
	}
	if first != 0 && last > first {
		r.Elapsed = float64(last-first) / 1e9
		r.PerSecond = float64(r.Delivered) / r.Elapsed
	}
	d.countNodes(resps, first)
	if r.Delivered > 0 && r.Scenario != ScenarioInflate { // inflate: per MB (Inflate.CPUPerMB)
		r.Server.CPUPerMillion = r.Server.CPUSeconds / float64(r.Delivered) * 1e6
	}
}

// connectScenario opens the connections as fast as the dial rate allows;
// with a restart command it then restarts the server and times the
// reconnection.
func (d *driver) connectScenario(ctx context.Context) error {
	m0 := d.mark(nil)
	hs, elapsed, err := d.connect(0, d.cfg.Conns)
	if err != nil {
		return err
	}
	m1 := d.mark(nil)
	resps, err := d.f.same(request{Op: opResults})
	if err != nil {
		return err
	}
	m1.agents = d.mark(resps).agents
	d.account(m0, m1)
	d.countResults(resps)
	d.res.Latency = newLatency(hs)
	d.res.PerSecond = float64(d.res.Conns) / elapsed.Seconds()
	d.res.Elapsed = elapsed.Seconds()
	if d.cfg.Restart == "" {
		return nil
	}
	return d.restart(ctx)
}

// restart runs the restart command and waits for every client to redial.
// A last stdout line that is a number is the new server PID.
func (d *driver) restart(ctx context.Context) error {
	d.logf("restarting the server: %s", d.cfg.Restart)
	ctx, cancel := context.WithTimeout(ctx, restartTimeout)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "sh", "-c", d.cfg.Restart)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = d.log
	err := cmd.Run()
	cmdTime := time.Since(start)
	rc := &Restart{CommandSeconds: cmdTime.Seconds()}
	d.res.Reconnect = rc
	if err != nil {
		d.res.fail("restart command: %v", err)
		return nil
	}
	if pid, err := strconv.Atoi(lastLine(out.String())); err == nil && pid > 0 {
		d.cfg.ServerPID, rc.NewPID = pid, pid
	}
	wait := time.Duration(float64(d.cfg.Conns)/float64(d.cfg.DialRate)*float64(time.Second)) + d.cfg.Drain
	resps, err := d.f.same(request{Op: opReconnect, Deadline: time.Now().Add(wait).UnixNano()})
	if err != nil {
		return err
	}
	var lastOpen, firstDrop int64
	for _, r := range resps {
		rc.Reopened += r.Reopened
		rc.Redials += r.Redials
		rc.Dropped += r.Dropped
		lastOpen = max(lastOpen, r.LastOpen)
		if r.FirstDrop != 0 && (firstDrop == 0 || r.FirstDrop < firstDrop) {
			firstDrop = r.FirstDrop
		}
	}
	rc.Seconds = float64(lastOpen-start.UnixNano()) / 1e9
	rc.AfterReady = float64(lastOpen-start.Add(cmdTime).UnixNano()) / 1e9
	if firstDrop != 0 {
		rc.AfterDrop = float64(lastOpen-firstDrop) / 1e9
	}
	if rc.Reopened < d.res.Conns {
		d.res.fail("%d of %d clients did not reconnect within %s of the restart", d.res.Conns-rc.Reopened, d.res.Conns, cmdTime+wait)
	}
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}
