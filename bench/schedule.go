package bench

import (
	"context"
	"slices"
	"time"
)

// maxPerRun bounds the messages one sendDue writes, so that a burst does
// not keep the loop from reading.
const maxPerRun = 256

// schedule is a loop's sending plan: publisher k sends message j (j = 1 …
// quota) at start + pubs[k].offset + (j-1)·interval. With offsets sorted and
// below interval, due times rise along (round, idx), so a cursor suffices.
// interval 0 sends everything at once (burst). Loop only.
type schedule struct {
	start    int64
	interval int64
	quota    uint64
	round    uint64 // messages sent per publisher so far
	idx      int    // next publisher in this round
	pubs     []*peer
}

// due returns when the next message is due, or noneDue.
func (s *schedule) due() int64 {
	if s.round >= s.quota || len(s.pubs) == 0 {
		return noneDue
	}
	return s.start + s.pubs[s.idx].offset + int64(s.round)*s.interval
}

// plan sets the loop's schedule from its open publishers. Loop only.
func (l *loop) plan(start, interval int64, quota uint64) {
	var pubs []*peer
	for _, p := range l.peers {
		if p.pub && p.isOpen() && p.loop == l {
			pubs = append(pubs, p)
		}
	}
	slices.SortFunc(pubs, func(a, b *peer) int { return int(a.offset - b.offset) })
	l.sched = schedule{start: start, interval: interval, quota: quota, pubs: pubs}
	l.nextDue.Store(l.sched.due())
}

// runSchedule sends every message that is due, at most maxPerRun. Loop only.
func (l *loop) runSchedule() {
	s := &l.sched
	now := time.Now().UnixNano()
	for n := 0; n < maxPerRun; n++ {
		t := s.due()
		if t > now {
			break
		}
		l.send(s.pubs[s.idx], s.round+1)
		if s.idx++; s.idx == len(s.pubs) {
			s.idx, s.round = 0, s.round+1
		}
	}
	l.flush()
	l.nextDue.Store(s.due())
	l.queued.Store(false)
}

// pace triggers each loop's sendDue when its next message is due, until
// every schedule is done or ctx ends. One goroutine per process: it calls
// Execute once per loop and due time, never per connection.
func pace(ctx context.Context, loops []*loop) {
	for {
		now := time.Now().UnixNano()
		next, active := noneDue, false
		for _, l := range loops {
			d := l.nextDue.Load()
			if d == noneDue && !l.queued.Load() {
				continue
			}
			active = true
			if d <= now && l.queued.CompareAndSwap(false, true) {
				if l.el.Execute(ctx, l.sendDue) != nil {
					return
				}
			}
			next = min(next, max(d, now+int64(200*time.Microsecond)))
		}
		if !active {
			return
		}
		wait := time.Duration(min(next-now, int64(20*time.Millisecond)))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
