package bench_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/wshub/wshub/bench"
)

// exactPercentile is the nearest-rank percentile of sorted values.
func exactPercentile(sorted []int64, p float64) int64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

func TestHistogramPercentilesWithinOnePercent(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		gen  func(i int) int64
		n    int
	}{
		{"uniform 1µs..100ms", func(i int) int64 { return int64(i+1) * 1000 }, 100_000},
		{"log-uniform 1µs..100s", func(int) int64 { return int64(math.Exp(rng.Float64()*math.Log(1e8)) * 1e3) }, 200_000},
		{"exponential mean 2ms", func(int) int64 { return int64(rng.ExpFloat64()*2e6) + 1000 }, 200_000},
		{"constant 1.5ms", func(int) int64 { return 1_500_000 }, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h bench.Histogram
			values := make([]int64, tt.n)
			for i := range values {
				values[i] = tt.gen(i)
				h.Record(values[i])
			}
			slices.Sort(values)
			for _, p := range []float64{1, 50, 90, 99, 99.9, 99.99, 100} {
				want, got := exactPercentile(values, p), h.Percentile(p)
				if rel := math.Abs(float64(got-want)) / float64(want); rel > 0.01 {
					t.Errorf("p%g = %d, want %d ±1%% (off by %.2f%%)", p, got, want, 100*rel)
				}
			}
			if h.Count() != uint64(tt.n) || h.Max() != values[len(values)-1] || h.Min() != values[0] {
				t.Errorf("count/min/max = %d/%d/%d, want %d/%d/%d", h.Count(), h.Min(), h.Max(), tt.n, values[0], values[len(values)-1])
			}
		})
	}
}

func TestHistogramEdges(t *testing.T) {
	t.Parallel()
	var h bench.Histogram
	if got := h.Percentile(99); got != 0 {
		t.Errorf("empty p99 = %d, want 0", got)
	}
	h.Record(-5) // clock skew between processes counts as 0
	h.Record(int64(500 * time.Second))
	if h.Min() != 0 || h.Max() != int64(500*time.Second) {
		t.Errorf("min, max = %d, %d; want 0, 500 s", h.Min(), h.Max())
	}
	if got := h.Percentile(100); got != int64(500*time.Second) {
		t.Errorf("p100 = %d, want the exact max", got)
	}
}

func TestHistogramMergeAndJSON(t *testing.T) {
	t.Parallel()
	var a, b, all bench.Histogram
	for i := range 10_000 {
		v := int64(i*i) + 1000
		all.Record(v)
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	a.Merge(&b)
	js, err := json.Marshal(&a)
	if err != nil {
		t.Fatal(err)
	}
	var back bench.Histogram
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	for _, p := range []float64{50, 99, 99.9} {
		if back.Percentile(p) != all.Percentile(p) {
			t.Errorf("p%g after merge and JSON = %d, want %d", p, back.Percentile(p), all.Percentile(p))
		}
	}
	if back.Count() != all.Count() || back.Mean() != all.Mean() {
		t.Errorf("count, mean = %d, %g; want %d, %g", back.Count(), back.Mean(), all.Count(), all.Mean())
	}
}

func TestHistogramRecordDoesNotAllocate(t *testing.T) {
	var h bench.Histogram
	v := int64(1)
	if n := testing.AllocsPerRun(1000, func() { h.Record(v); v = v*3 + 7 }); n != 0 {
		t.Errorf("Record allocates %v times, want 0", n)
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	b.ReportAllocs()
	var h bench.Histogram
	for i := range b.N {
		h.Record(int64(i) * 977)
	}
}
