package wheel_test

import (
	"slices"
	"testing"
	"time"

	"github.com/wshub/wshub/internal/wheel"
)

const tick = 100 * time.Millisecond

var t0 = time.Unix(1_700_000_000, 0)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

type item struct {
	name  string
	timer wheel.Timer[*item]
}

func newItems(names ...string) []*item {
	var out []*item
	for _, n := range names {
		it := &item{name: n}
		it.timer.Init(it)
		out = append(out, it)
	}
	return out
}

// TestFiresOnTimeNeverEarly: a timer fires at the first Advance at or after
// its deadline (within one tick), in deadline order across slots.
func TestFiresOnTimeNeverEarly(t *testing.T) {
	tests := []struct {
		name    string
		d       time.Duration
		wantNot time.Duration // Advance to here: not yet fired
		want    time.Duration // Advance to here: fired
	}{
		{name: "one tick", d: tick, wantNot: tick - time.Nanosecond, want: tick},
		{name: "between ticks rounds up", d: 150 * time.Millisecond, wantNot: 149 * time.Millisecond, want: 200 * time.Millisecond},
		{name: "zero fires at the next tick", d: 0, wantNot: 0, want: tick},
		{name: "5 s", d: 5 * time.Second, wantNot: 5*time.Second - time.Millisecond, want: 5 * time.Second},
		{name: "beyond one revolution", d: 60 * time.Second, wantNot: 59 * time.Second, want: 60 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := wheel.New[*item](tick, t0)
			it := newItems("a")[0]
			w.Set(&it.timer, t0, tt.d)
			var fired []string
			fire := func(i *item) { fired = append(fired, i.name) }
			w.Advance(at(tt.wantNot), fire)
			if len(fired) != 0 || !it.timer.Armed() {
				t.Fatalf("fired at %v, before its deadline %v", tt.wantNot, tt.d)
			}
			w.Advance(at(tt.want), fire)
			if len(fired) != 1 || it.timer.Armed() || w.Len() != 0 {
				t.Fatalf("at %v: fired %v, armed %v, Len %d; want fired once", tt.want, fired, it.timer.Armed(), w.Len())
			}
		})
	}
}

// TestStopAndReset: a stopped timer never fires, a re-armed one fires at
// its new deadline only.
func TestStopAndReset(t *testing.T) {
	w := wheel.New[*item](tick, t0)
	its := newItems("stopped", "reset", "kept")
	for _, it := range its {
		w.Set(&it.timer, t0, time.Second)
	}
	w.Stop(&its[0].timer)
	w.Stop(&its[0].timer) // twice is fine
	w.Set(&its[1].timer, t0, 3*time.Second)
	if w.Len() != 2 {
		t.Fatalf("Len = %d, want 2", w.Len())
	}
	var fired []string
	fire := func(i *item) { fired = append(fired, i.name) }
	w.Advance(at(2*time.Second), fire)
	if !slices.Equal(fired, []string{"kept"}) {
		t.Fatalf("at 2 s fired %v, want [kept]", fired)
	}
	w.Advance(at(3*time.Second), fire)
	if !slices.Equal(fired, []string{"kept", "reset"}) {
		t.Fatalf("at 3 s fired %v, want [kept reset]", fired)
	}
}

// TestFireMayChangeTheWheel: the expiry function may stop the next timer
// of the same slot, and re-arm the timer it got, which then fires at its
// new deadline, not again in the same Advance.
func TestFireMayChangeTheWheel(t *testing.T) {
	w := wheel.New[*item](tick, t0)
	its := newItems("a", "b", "c", "again")
	for _, it := range its {
		w.Set(&it.timer, t0, tick)
	}
	var fired []string
	fire := func(i *item) {
		fired = append(fired, i.name)
		switch i.name {
		case "a":
			w.Stop(&its[1].timer) // b, next in the slot
		case "again":
			w.Set(&i.timer, at(tick), 0)
		}
	}
	w.Advance(at(tick), fire)
	if !slices.Equal(fired, []string{"a", "c", "again"}) {
		t.Fatalf("fired %v, want [a c again]", fired)
	}
	w.Advance(at(2*tick), fire)
	if !slices.Equal(fired, []string{"a", "c", "again", "again"}) {
		t.Fatalf("fired %v, want again to fire once more at the next tick", fired)
	}
}

// TestLongSleep: an Advance after many revolutions fires everything due,
// once.
func TestLongSleep(t *testing.T) {
	w := wheel.New[*item](tick, t0)
	its := newItems("1s", "10s", "100s", "1000s")
	for i, it := range its {
		w.Set(&it.timer, t0, time.Duration([]int{1, 10, 100, 1000}[i])*time.Second)
	}
	count := 0
	w.Advance(at(2000*time.Second), func(*item) { count++ })
	if count != 4 || w.Len() != 0 {
		t.Fatalf("fired %d, Len %d; want 4, 0", count, w.Len())
	}
}

// BenchmarkSetStop is the per-connection cost of moving a deadline.
func BenchmarkSetStop(b *testing.B) {
	w := wheel.New[*item](tick, t0)
	its := newItems(make([]string, 1024)...)
	b.ReportAllocs()
	for i := range b.N {
		it := its[i%len(its)]
		w.Set(&it.timer, at(time.Duration(i)), 5*time.Second)
	}
}
