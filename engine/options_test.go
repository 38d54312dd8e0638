package engine_test

import (
	"testing"

	"github.com/wshub/wshub/engine"
)

// TestSlowPolicyNames: the policies map to their names and back (the
// engine's values are the hub's, converted by value).
func TestSlowPolicyNames(t *testing.T) {
	for _, tt := range []struct {
		p    engine.SlowPolicy
		name string
	}{{engine.PolicyClose, "close"}, {engine.PolicyDropNewest, "drop-newest"}, {engine.PolicyDropOldest, "drop-oldest"}} {
		if tt.p.String() != tt.name {
			t.Errorf("%d.String() = %q, want %q", tt.p, tt.p.String(), tt.name)
		}
		if p, err := engine.ParseSlowPolicy(tt.name); err != nil || p != tt.p {
			t.Errorf("ParseSlowPolicy(%q) = %d, %v", tt.name, p, err)
		}
	}
	if _, err := engine.ParseSlowPolicy("ignore"); err == nil {
		t.Error("ParseSlowPolicy(ignore) succeeded")
	}
}
