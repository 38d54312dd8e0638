package hub

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wshub/wshub/codec"
	"github.com/wshub/wshub/internal/wheel"
)

type jobKind uint8

const (
	opSend      jobKind = iota + 1 // f to c
	opBroadcast                    // f to every connection but c
	opPublish                      // f to every member of room but c
	opJoin                         // c joins room
	opLeave                        // c leaves room
	opClose                        // f to c as its last frame
	opDo                           // run fn
)

// job is one unit of work for a shard, applied on its loop in the order
// the calls were made. A job that carries a frame holds one reference to
// it, released after the shard's flush.
type job struct {
	kind jobKind
	c    *Conn
	f    *codec.Frame
	room string
	why  *Why   // opClose from Close: how the connection ends
	fn   func() // opDo
}

// Shard is the part of the hub that belongs to one event loop: its
// connections, its rooms, its timers and its write queues.
//
// Work reaches a shard through its inbox. The loop's owner brackets
// everything it runs on the loop (each gnet callback) with Enter and
// Leave; while the loop is inside such a bracket, work queued from any
// goroutine (the loop's own callbacks included) waits in the inbox without
// a wake-up, and Leave applies it and flushes: a send made in a callback
// costs no hand-off, and everything a connection gets in that step leaves
// in one write. Work queued while the loop is elsewhere asks it, once per
// drain, to run a drain task.
type Shard struct {
	hub  *Hub
	loop Loop

	mu        sync.Mutex // guards inbox, spare, depth, scheduled and stopped
	inbox     []job
	spare     []job
	depth     int  // Enter calls not yet left: the loop will drain before it sleeps
	scheduled bool // a drain task (or the flush timer) is on its way
	stopped   bool // the loop no longer runs: work is dropped

	flushTimer *time.Timer // FlushInterval > 0: starts the drain task
	tickTimer  *time.Timer // starts the tick task while timers are armed

	// rmu guards rooms and each room's member list against readers on
	// other goroutines (Rooms, RangeMembers); the loop writes under it and
	// reads without it.
	rmu   sync.RWMutex
	rooms map[string]*room

	// Event loop only.
	conns    []*Conn
	draining []*Conn
	wheel    *wheel.Wheel[*Conn]
	ticking  bool // tickTimer is armed or the tick task is queued
	out      outbound

	holds atomic.Bool // the shard holds something in buffers (budget.go)
}

func newShard(h *Hub, loop Loop) *Shard {
	s := &Shard{hub: h, loop: loop, rooms: make(map[string]*room),
		wheel: wheel.New[*Conn](h.cfg.Tick, time.Now())}
	s.out.init(h.cfg.MaxBacklog, h.cfg.BufferCost, h.cfg.BufferSlack)
	s.tickTimer = time.AfterFunc(time.Hour, s.kickTick)
	s.tickTimer.Stop()
	if h.cfg.FlushInterval > 0 {
		s.flushTimer = time.AfterFunc(time.Hour, func() { _ = s.kickDrain() })
		s.flushTimer.Stop()
	}
	return s
}

// Enter marks the start of a step on the loop (a callback of the loop's
// owner): work queued until the matching Leave is applied by Leave,
// without waking the loop. Enter and Leave nest. Event loop only.
func (s *Shard) Enter() {
	s.mu.Lock()
	s.depth++
	s.mu.Unlock()
}

// Leave ends the step begun by Enter; the outermost Leave applies the
// work queued meanwhile and flushes (unless FlushInterval holds it back).
// Event loop only.
func (s *Shard) Leave() { s.leave(s.flushTimer == nil) }

// maxRounds bounds how many batches one step applies: work that keeps
// arriving from other goroutines while the loop flushes goes to a drain
// task, so that the loop's other events are not starved.
const maxRounds = 4

// leave is Leave; with flush false the inbox stays for the flush timer.
// With a flush interval, a step applies at most the batch it found: what
// arrives meanwhile has set the timer again and waits for it.
func (s *Shard) leave(flush bool) {
	s.mu.Lock()
	checked := false
	for rounds := 0; s.depth == 1; {
		if !flush || len(s.inbox) == 0 {
			if checked || len(s.draining) == 0 {
				break
			}
			s.mu.Unlock()
			s.checkDraining()
			checked = true
			s.mu.Lock()
			continue
		}
		if rounds == maxRounds {
			s.depth-- // enqueue's rule: the loop is not in a step any more
			kick := !s.scheduled
			s.scheduled = true
			s.mu.Unlock()
			if kick {
				_ = s.kickDrain()
			}
			return
		}
		jobs := s.inbox
		s.inbox, s.spare = s.spare[:0], nil
		s.mu.Unlock()
		s.process(jobs)
		rounds++
		checked = false
		if s.flushTimer != nil {
			flush = false
		}
		s.mu.Lock()
		s.spare = jobs[:0]
	}
	s.depth--
	s.mu.Unlock()
}

// enqueue appends j to the inbox and makes sure a drain is coming: the
// current step's Leave if the loop is in one, else a drain task (or the
// flush timer). Safe from any goroutine.
func (s *Shard) enqueue(j job) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		if j.f != nil {
			j.f.Release()
		}
		return ErrStopped
	}
	s.inbox = append(s.inbox, j)
	kick := !s.scheduled && (s.depth == 0 || s.flushTimer != nil)
	if kick {
		s.scheduled = true
	}
	s.mu.Unlock()
	if !kick {
		return nil
	}
	if s.flushTimer != nil {
		s.flushTimer.Reset(s.hub.cfg.FlushInterval)
		return nil
	}
	return s.kickDrain()
}

// Do runs fn on the shard's loop, in order with the work queued before
// it, inside a step (what fn queues is written when the step ends). Safe
// from any goroutine; ErrStopped once the loop no longer runs.
func (s *Shard) Do(fn func()) error { return s.enqueue(job{kind: opDo, fn: fn}) }

// drainTask and tickTask are the shard's two kinds of loop work.
type (
	drainTask Shard
	tickTask  Shard
)

// kickDrain asks the loop to run the drain task.
func (s *Shard) kickDrain() error {
	if err := s.loop.Execute((*drainTask)(s)); err != nil {
		s.abandon()
		return ErrStopped
	}
	return nil
}

func (t *drainTask) Run(context.Context) error {
	s := (*Shard)(t)
	s.mu.Lock()
	s.scheduled = false
	s.depth++
	s.mu.Unlock()
	s.leave(true)
	return nil
}

// process applies jobs in order, flushes, and releases their frames.
func (s *Shard) process(jobs []job) {
	for i := range jobs {
		s.apply(&jobs[i])
	}
	s.flush()
	releaseJobs(jobs)
}

func (s *Shard) apply(j *job) {
	switch j.kind {
	case opSend:
		s.push(j.c, j.f)
	case opBroadcast:
		s.pushAll(s.conns, j.c, j.f)
	case opPublish:
		if r := s.rooms[j.room]; r != nil {
			s.pushAll(r.members, j.c, j.f)
		}
	case opJoin:
		s.join(j.c, j.room)
	case opLeave:
		s.leave1(j.c, j.room)
	case opClose:
		s.applyClose(j)
	case opDo:
		j.fn()
	}
}

func releaseJobs(jobs []job) {
	for i := range jobs {
		if f := jobs[i].f; f != nil {
			f.Release()
		}
		jobs[i] = job{}
	}
}

// abandon drops the inbox of a loop that no longer runs.
func (s *Shard) abandon() {
	s.mu.Lock()
	jobs := s.inbox
	s.inbox, s.scheduled, s.stopped = nil, false, true
	s.mu.Unlock()
	releaseJobs(jobs)
}

// armTick makes sure a tick comes while timers are armed, frames are held
// or connections drain. Event loop only.
func (s *Shard) armTick() {
	if s.ticking {
		return
	}
	s.ticking = true
	s.tickTimer.Reset(s.hub.cfg.Tick)
}

// kickTick runs on the timer's goroutine: it asks the loop for a tick.
func (s *Shard) kickTick() {
	if err := s.loop.Execute((*tickTask)(s)); err != nil {
		s.abandon()
	}
}

// Run is one tick on the loop: expired deadlines, held frames of
// congested connections (gnet does not say when a socket drains, so they
// are retried here), draining connections.
func (t *tickTask) Run(context.Context) error {
	s := (*Shard)(t)
	s.Enter()
	s.ticking = false
	s.wheel.Advance(time.Now(), s.expire)
	if len(s.out.held) > 0 {
		s.flush()
	}
	books := len(s.out.costs) > 0 || len(s.out.inbound) > 0
	if books {
		s.refresh() // sockets drain unseen: keep the books, and the budget, current
		s.checkBudget()
	}
	if s.wheel.Len() > 0 || len(s.out.held) > 0 || len(s.draining) > 0 || books {
		s.armTick()
	}
	s.Leave() // checks the draining connections too
	return nil
}

// stop drops the shard's timers; work queued after it is dropped.
func (s *Shard) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.tickTimer.Stop()
	if s.flushTimer != nil {
		s.flushTimer.Stop()
	}
}
