package engine

import (
	"sync"
	"testing"
)

// TestLanesPickEvenly picks lanes from many goroutines at once, as the
// accept goroutines do, with sockets still in flight and sockets already
// open: every pick must see the ones before it, so the loads end even.
func TestLanesPickEvenly(t *testing.T) {
	tests := []struct {
		name    string
		lanes   int
		open    []int64 // sockets already open per lane
		pickers int
		picks   int // per picker
	}{
		{name: "two lanes", lanes: 2, open: []int64{0, 0}, pickers: 8, picks: 500},
		{name: "uneven start", lanes: 3, open: []int64{40, 0, 10}, pickers: 8, picks: 250},
		{name: "one lane", lanes: 1, open: []int64{7}, pickers: 4, picks: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ls lanes
			var total int64
			for i := range tt.lanes {
				l := &lane{}
				l.open.Store(tt.open[i])
				total += tt.open[i]
				ls.all = append(ls.all, l)
			}
			var wg sync.WaitGroup
			for range tt.pickers {
				wg.Go(func() {
					for range tt.picks {
						ls.pick() // held in flight: pending is never taken back
					}
				})
			}
			wg.Wait()
			total += int64(tt.pickers * tt.picks)
			lo, hi := ls.all[0].load(), ls.all[0].load()
			for _, l := range ls.all {
				lo, hi = min(lo, l.load()), max(hi, l.load())
			}
			if hi-lo > 1 {
				loads := make([]int64, len(ls.all))
				for i, l := range ls.all {
					loads[i] = l.load()
				}
				t.Errorf("loads %v of %d sockets; want within 1 of each other", loads, total)
			}
		})
	}
}

// TestLanesConcurrentPicksSpread starts two picks at once on two empty
// lanes, over and over: they must always land on different lanes (the
// failure seen without the lock: two sockets accepted together on one loop,
// the other loop empty).
func TestLanesConcurrentPicksSpread(t *testing.T) {
	const rounds = 20000
	for r := range rounds {
		ls := lanes{all: []*lane{{}, {}}}
		var got [2]*lane
		var start, wg sync.WaitGroup
		start.Add(1)
		for i := range got {
			wg.Go(func() {
				start.Wait()
				got[i] = ls.pick()
			})
		}
		start.Done()
		wg.Wait()
		if got[0] == got[1] {
			t.Fatalf("round %d: both picks on one lane", r)
		}
	}
}
