package wstest

import (
	"context"
	"errors"
	"testing"

	"github.com/wshub/wshub/engine"
)

// Start starts srv on 127.0.0.1:0 and stops it when the test ends (a
// server the test stopped already is fine); it returns the address.
func Start(t testing.TB, srv *engine.Server) string {
	t.Helper()
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { Stop(t, srv) })
	return srv.Addr().String()
}

// Stop stops srv within twice Timeout.
func Stop(t testing.TB, srv *engine.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*Timeout)
	defer cancel()
	if err := srv.Stop(ctx); err != nil && !errors.Is(err, engine.ErrNotRunning) {
		t.Errorf("Stop: %v", err)
	}
}
