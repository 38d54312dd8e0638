// Package ratelog lets a log line through at most once a second and counts
// the ones it holds back, so that a flood (sheds, accept errors) costs one
// line a second that says how many it stands for.
//
// A Limiter is not safe for concurrent use: its owner runs it on one
// goroutine (an event loop) or under its own lock.
package ratelog

import "time"

// Limiter is one rate-limited log line. The zero value is ready.
type Limiter struct {
	next       time.Time
	suppressed int
}

// Allow reports whether a line may be logged now and, if so, how many were
// held back since the last one.
func (l *Limiter) Allow() (suppressed int, ok bool) { return l.allow(time.Now()) }

func (l *Limiter) allow(now time.Time) (suppressed int, ok bool) {
	if now.Before(l.next) {
		l.suppressed++
		return 0, false
	}
	l.next = now.Add(time.Second)
	suppressed, l.suppressed = l.suppressed, 0
	return suppressed, true
}
