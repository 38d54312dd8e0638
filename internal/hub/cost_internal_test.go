package hub

import "testing"

// TestCostQueueSettle follows a socket's buffer as the hub hands it pieces
// and the socket sends them: the cost is that of the pieces not yet wholly
// sent, and bytes the hub did not write are a piece of their own.
func TestCostQueueSettle(t *testing.T) {
	pow2 := CostModel{Pow2: true} // 100 -> 128, 200 -> 256, 50 -> 64, 30 -> 32, 40 -> 64
	tests := []struct {
		name      string
		pieces    []int // kept, oldest first
		buffered  int   // what the socket then reports
		wantBytes int
		wantCost  int
		wantRecs  int
	}{
		{name: "nothing sent", pieces: []int{100, 200}, buffered: 300, wantBytes: 300, wantCost: 384, wantRecs: 2},
		{name: "first partly sent keeps its buffer", pieces: []int{100, 200}, buffered: 250, wantBytes: 250, wantCost: 384, wantRecs: 2},
		{name: "first wholly sent", pieces: []int{100, 200}, buffered: 200, wantBytes: 200, wantCost: 256, wantRecs: 1},
		{name: "into the second", pieces: []int{100, 200, 50}, buffered: 120, wantBytes: 120, wantCost: 320, wantRecs: 2},
		{name: "all sent", pieces: []int{100, 200}, buffered: 0, wantBytes: 0, wantCost: 0, wantRecs: 0},
		{name: "bytes written by the owner", pieces: []int{100}, buffered: 130, wantBytes: 130, wantCost: 160, wantRecs: 2},
		{name: "none recorded", pieces: nil, buffered: 40, wantBytes: 40, wantCost: 64, wantRecs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q costQueue
			for _, n := range tt.pieces {
				q.add(n, pow2)
			}
			q.settle(tt.buffered, pow2)
			if q.bytes != tt.wantBytes || q.cost != tt.wantCost || len(q.recs) != tt.wantRecs {
				t.Errorf("bytes %d cost %d recs %d, want %d %d %d", q.bytes, q.cost, len(q.recs),
					tt.wantBytes, tt.wantCost, tt.wantRecs)
			}
			sum := 0
			for _, r := range q.recs {
				sum += r.bytes
			}
			if sum != q.bytes {
				t.Errorf("records hold %d bytes, the queue says %d", sum, q.bytes)
			}
		})
	}
}

func TestCostModel(t *testing.T) {
	tests := []struct {
		m    CostModel
		n    int
		want int
	}{
		{CostModel{}, 1028, 1028},
		{CostModel{Pow2: true}, 1028, 2048},
		{CostModel{Pow2: true, Node: 32}, 1028, 2080},
		{CostModel{Pow2: true, Node: 32}, 1024, 1056},
		{CostModel{Pow2: true, Node: 32}, 1, 33},
		{CostModel{Pow2: true, Node: 32}, 0, 0},
		{CostModel{Pow2: true}, 1<<31 + 1, 1<<31 + 1}, // exact past 2 GiB
	}
	for _, tt := range tests {
		if got := tt.m.Cost(tt.n); got != tt.want {
			t.Errorf("%+v.Cost(%d) = %d, want %d", tt.m, tt.n, got, tt.want)
		}
	}
}
