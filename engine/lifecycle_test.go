package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
)

// TestLifecycle: Stop before Start, Start twice and Start on a port in use
// fail with an error, and leave nothing running.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()

	srv := engine.New()
	srv.Handle(wsPath, echo())
	if srv.Addr() != nil {
		t.Errorf("Addr before Start = %v, want nil", srv.Addr())
	}
	if err := srv.Stop(ctx); !errors.Is(err, engine.ErrNotRunning) {
		t.Errorf("Stop before Start = %v, want ErrNotRunning", err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { stopServer(t, srv) })
	if err := srv.Start("127.0.0.1:0"); !errors.Is(err, engine.ErrRunning) {
		t.Errorf("second Start = %v, want ErrRunning", err)
	}

	busy := engine.New()
	busy.Handle(wsPath, echo())
	if err := busy.Start(srv.Addr().String()); err == nil {
		t.Errorf("Start on %s, a port in use, succeeded", srv.Addr())
		stopServer(t, busy)
	}

	// The first server still works.
	c := dialUpgraded(t, srv.Addr().String())
	c.Send(text("alive"))
	c.ExpectFrame(ws.OpText, []byte("alive"))
}
