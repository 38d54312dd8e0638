package ratelog

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	var l Limiter
	t0 := time.Now()
	steps := []struct {
		at             time.Duration // after t0
		wantOK         bool
		wantSuppressed int
	}{
		{0, true, 0},
		{10 * time.Millisecond, false, 0},
		{999 * time.Millisecond, false, 0},
		{time.Second, true, 2}, // the two held back are counted
		{1500 * time.Millisecond, false, 0},
		{2100 * time.Millisecond, true, 1},
		{5 * time.Second, true, 0},
	}
	for i, st := range steps {
		n, ok := l.allow(t0.Add(st.at))
		if ok != st.wantOK || n != st.wantSuppressed {
			t.Errorf("step %d: allow = %d, %v; want %d, %v", i, n, ok, st.wantSuppressed, st.wantOK)
		}
	}
	var fresh Limiter
	if _, ok := fresh.Allow(); !ok {
		t.Error("a new Limiter refused its first line")
	}
}
