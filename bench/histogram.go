package bench

import (
	"encoding/json"
	"math"
	"math/bits"
)

// Histogram layout: values are nanoseconds. Below subCount every value has
// its own bucket; above, each power of two [2^m, 2^(m+1)) is cut into
// subCount equal buckets, so a bucket is at most 1/128 (0.8%) of its values
// wide, and the midpoint reported for it is within 0.4% of any value in it.
const (
	subBits    = 7
	subCount   = 1 << subBits
	maxBits    = 37                    // 2^37 ns ≈ 137 s
	maxValue   = int64(1)<<maxBits - 1 // larger values land in the last bucket
	numBuckets = (maxBits - subBits + 1) * subCount
)

// Histogram is a log-linear (HDR-like) histogram of durations in
// nanoseconds: about 1% precision from 1 µs to 137 s in a fixed array, with
// no allocation per Record. The zero value is empty and ready.
//
// A Histogram is not safe for concurrent use: each event loop records into
// its own, and they are merged at the end.
type Histogram struct {
	counts [numBuckets]uint64
	n      uint64
	sum    float64
	min    int64
	max    int64
}

// bucketOf returns the bucket index of v (0 <= v <= maxValue).
func bucketOf(v int64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - 1 - subBits
	return (shift+1)*subCount + int(v>>shift) - subCount
}

// bucketRange returns the lowest value of bucket i and its width.
func bucketRange(i int) (low, width int64) {
	group := i / subCount
	if group == 0 {
		return int64(i), 1
	}
	shift := group - 1
	return int64(i-group*subCount+subCount) << shift, int64(1) << shift
}

// Record adds one value in nanoseconds. Negative values (clock skew between
// processes) count as 0; values over 137 s count in the last bucket but
// still set Max.
func (h *Histogram) Record(v int64) {
	v = max(v, 0)
	if h.n == 0 || v < h.min {
		h.min = v
	}
	h.max = max(h.max, v)
	h.counts[bucketOf(min(v, maxValue))]++
	h.n++
	h.sum += float64(v)
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest value recorded, exactly.
func (h *Histogram) Max() int64 { return h.max }

// Min is the smallest value recorded, exactly.
func (h *Histogram) Min() int64 { return h.min }

// Mean is the average of the values recorded, 0 when empty.
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Percentile returns the value at percentile p (0 < p <= 100) by nearest
// rank: the midpoint of the bucket holding it, kept within [Min, Max];
// the top rank is Max exactly.
// It returns 0 for an empty histogram.
func (h *Histogram) Percentile(p float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(p / 100 * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	if rank == h.n {
		return h.max
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			if i == numBuckets-1 { // the overflow bucket
				return h.max
			}
			low, width := bucketRange(i)
			return min(max(low+width/2, h.min), h.max)
		}
	}
	return h.max
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
}

// histogramJSON is the sparse wire form used between worker processes:
// [bucket, count] pairs for the non-empty buckets.
type histogramJSON struct {
	N       uint64      `json:"n"`
	Sum     float64     `json:"sum"`
	Min     int64       `json:"min"`
	Max     int64       `json:"max"`
	Buckets [][2]uint64 `json:"buckets"`
}

// MarshalJSON encodes the non-empty buckets only.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	j := histogramJSON{N: h.n, Sum: h.sum, Min: h.min, Max: h.max, Buckets: [][2]uint64{}}
	for i, c := range h.counts {
		if c != 0 {
			j.Buckets = append(j.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON wrote, replacing h.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var j histogramJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*h = Histogram{n: j.N, sum: j.Sum, min: j.Min, max: j.Max}
	for _, bc := range j.Buckets {
		if bc[0] >= numBuckets {
			return errBadHistogram
		}
		h.counts[bc[0]] = bc[1]
	}
	return nil
}
