// Package wheel is a hashed timing wheel for one event loop: deadlines for
// tens of thousands of connections at O(1) per Set, Stop and expiry, with no
// timer or goroutine per connection.
//
// Time is counted in ticks of a fixed length since the wheel was made. A
// timer due in d is placed in the slot of the first tick at or after
// now+d, so it fires up to one tick late and never early. Timers further
// away than one revolution stay in their slot and are passed over until
// their round comes.
//
// # Thread rules
//
// A Wheel and its Timers belong to one goroutine at a time (the event loop
// that owns them); nothing here is safe for concurrent use.
package wheel

import "time"

// slots is the number of slots of a wheel; with 100 ms ticks one revolution
// is 25.6 s, longer than the server's handshake, close and linger timeouts.
const slots = 256

// Timer is one deadline, embedded by value in what it times (T is its
// owner, handed to the expiry function). The zero Timer is stopped.
type Timer[T any] struct {
	prev, next *Timer[T]
	due        int64 // tick at which it fires
	owner      T
}

// Init sets the value the expiry function receives for t. Call it once,
// before the first Set.
func (t *Timer[T]) Init(owner T) { t.owner = owner }

// Armed reports whether t is set and has not fired or been stopped.
func (t *Timer[T]) Armed() bool { return t.prev != nil }

// Wheel holds armed timers in slots by due tick.
type Wheel[T any] struct {
	slots [slots]Timer[T] // list heads (sentinels)
	tick  time.Duration
	start time.Time
	now   int64    // last tick advanced to
	n     int      // armed timers
	mark  Timer[T] // Advance's place in the slot it walks
}

// New returns a wheel whose ticks are tick long, counted from start.
func New[T any](tick time.Duration, start time.Time) *Wheel[T] {
	w := &Wheel[T]{tick: tick, start: start}
	for i := range w.slots {
		h := &w.slots[i]
		h.prev, h.next = h, h
	}
	return w
}

// Tick returns the wheel's tick length.
func (w *Wheel[T]) Tick() time.Duration { return w.tick }

// Len returns the number of armed timers.
func (w *Wheel[T]) Len() int { return w.n }

// ticks converts an instant to the wheel's tick count, rounding up.
func (w *Wheel[T]) ticks(at time.Time) int64 {
	d := at.Sub(w.start)
	return int64((d + w.tick - 1) / w.tick)
}

// Set arms t to fire d after now (re-arming it if it was armed).
func (w *Wheel[T]) Set(t *Timer[T], now time.Time, d time.Duration) {
	w.Stop(t)
	due := max(w.ticks(now.Add(d)), w.now+1)
	t.due = due
	h := &w.slots[due%slots]
	t.prev, t.next = h.prev, h
	h.prev.next = t
	h.prev = t
	w.n++
}

// SetBefore arms t to fire d after now, unless it is armed to fire by
// then already.
func (w *Wheel[T]) SetBefore(t *Timer[T], now time.Time, d time.Duration) {
	if t.Armed() && t.due <= max(w.ticks(now.Add(d)), w.now+1) {
		return
	}
	w.Set(t, now, d)
}

// Stop disarms t; stopping a stopped timer does nothing.
func (w *Wheel[T]) Stop(t *Timer[T]) {
	if t.prev == nil {
		return
	}
	t.prev.next = t.next
	t.next.prev = t.prev
	t.prev, t.next = nil, nil
	w.n--
}

// Advance fires, in due order per slot, every timer due at or before now:
// each is disarmed and then passed to fire, which may Set or Stop any timer
// of the wheel, the one it got included. It returns the number fired.
func (w *Wheel[T]) Advance(now time.Time, fire func(T)) int {
	end := int64(now.Sub(w.start) / w.tick) // ticks wholly past
	if end-w.now > slots {
		// Asleep for more than a revolution: every slot is visited once.
		w.now = end - slots
	}
	fired := 0
	for w.now < end {
		w.now++ // timers re-armed by fire land in a later tick
		fired += w.expire(&w.slots[w.now%slots], w.now, fire)
	}
	return fired
}

// expire fires the timers of one slot that are due by tick.
func (w *Wheel[T]) expire(h *Timer[T], tick int64, fire func(T)) int {
	fired := 0
	// The marker, linked in after the timer being fired, keeps the walk's
	// place when fire stops or re-arms other timers of this slot.
	mark := &w.mark
	for t := h.next; t != h; {
		if t.due > tick {
			t = t.next
			continue
		}
		mark.prev, mark.next = t, t.next
		t.next.prev = mark
		t.next = mark
		w.Stop(t)
		fire(t.owner)
		t = mark.next
		mark.prev.next = mark.next
		mark.next.prev = mark.prev
		mark.prev, mark.next = nil, nil
		fired++
	}
	return fired
}
