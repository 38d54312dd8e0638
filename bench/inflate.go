package bench

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// The inflate scenario: every client sends Msgs compressed messages of
// Size bytes to Target, each followed by a ping, and sends the next when
// the pong is back (the server has read the message by then): server CPU
// per MB inflated, and its memory while it inflates.

// peakEvery is how often the server's heap and RSS are sampled while the
// clients send.
const peakEvery = 100 * time.Millisecond

// sinkOrEcho checks that the inflate scenario's default route exists. A
// server without it (404) is measured on /echo, which sends every message
// back (the clients drop them unread); the warning says so.
func sinkOrEcho(cfg Config) (Config, string) {
	if cfg.Scenario != ScenarioInflate || cfg.Target != DefaultSink {
		return cfg, ""
	}
	c, err := net.DialTimeout("tcp", cfg.Addr, handshakeTimeout)
	if err != nil {
		return cfg, "" // the run fails on its own, and says why
	}
	defer c.Close()
	_, _, err = upgrade(c, cfg.Addr, cfg.Target, cfg.Compression, time.Now().Add(handshakeTimeout))
	var he *HandshakeError
	if !errors.As(err, &he) || !strings.HasPrefix(he.Status, "HTTP/1.1 404") {
		return cfg, ""
	}
	cfg.Target = "/echo"
	return cfg, fmt.Sprintf("the server has no %s route (404): measured on /echo, which sends every message back: its CPU includes compressing them", DefaultSink)
}

// peakSampler samples the server's RSS and heap (stats URL) while the
// clients send.
type peakSampler struct {
	before    Inflate // RSSBefore and HeapBefore
	peakRSS   int64
	peakHeap  *int64
	stopCh    chan struct{}
	wg        sync.WaitGroup
	statsURL  string
	serverPID int
}

// startPeak takes the server's memory before sending and starts sampling.
func (d *driver) startPeak() *peakSampler {
	s := &peakSampler{stopCh: make(chan struct{}), statsURL: d.cfg.StatsURL, serverPID: d.cfg.ServerPID}
	if s.serverPID > 0 {
		s.before.RSSBefore, _ = ProcessRSS(s.serverPID)
		s.peakRSS = s.before.RSSBefore
	}
	if st := d.stats(); st != nil && st.HeapInuse != nil {
		h, p := *st.HeapInuse, *st.HeapInuse
		s.before.HeapBefore, s.peakHeap = &h, &p
	}
	s.wg.Go(s.run)
	return s
}

func (s *peakSampler) run() {
	t := time.NewTicker(peakEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stopCh:
			return
		case <-t.C:
		}
		s.sample()
	}
}

func (s *peakSampler) sample() {
	if s.serverPID > 0 {
		if rss, err := ProcessRSS(s.serverPID); err == nil {
			s.peakRSS = max(s.peakRSS, rss)
		}
	}
	if s.peakHeap == nil {
		return
	}
	if st, err := FetchStats(s.statsURL); err == nil && st != nil && st.HeapInuse != nil {
		*s.peakHeap = max(*s.peakHeap, *st.HeapInuse)
	}
}

// stop ends the sampling and returns the figures. The peak RSS is the
// highest of the kernel's high-water mark (VmHWM), which can miss memory
// the runtime returned with madvise, and the samples.
func (s *peakSampler) stop() Inflate {
	close(s.stopCh)
	s.wg.Wait()
	s.sample()
	in := s.before
	in.PeakRSS, in.PeakHeap = s.peakRSS, s.peakHeap
	if s.serverPID > 0 {
		if hwm, err := ProcessHWM(s.serverPID); err == nil {
			in.PeakRSS = max(in.PeakRSS, hwm)
		}
	}
	return in
}

// inflateFigures fills the inflate scenario's figures from the counts and
// the memory samples.
func (d *driver) inflateFigures(m Inflate) {
	r := d.res
	in := r.Inflate
	in.RSSBefore, in.PeakRSS, in.HeapBefore, in.PeakHeap = m.RSSBefore, m.PeakRSS, m.HeapBefore, m.PeakHeap
	in.Bytes = r.Sent * int64(d.cfg.Size)
	if c := r.Compression; c != nil {
		in.WireBytes = c.SentWire
		in.Echoed = c.Echoes > 0
	}
	mb := float64(in.Bytes) / 1e6
	if r.Elapsed > 0 {
		in.MBPerSecond = mb / r.Elapsed
	}
	if mb > 0 {
		in.CPUPerMB = r.Server.CPUSeconds * 1e3 / mb
	}
}
