package engine_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: every
// server is stopped by its test's cleanup, so a goroutine left behind is a
// leak in the engine (per connection, per server or per Stop).
//
// Ignored: what runs before the first test, and the two housekeeping
// goroutines of gnet's package-level ants worker pool
// (gnet/v2/pkg/pool/goroutine.DefaultWorkerPool, created in a package
// variable initialiser and never released). Those are all the goroutines
// left after a server with gorilla, coder and raw clients is stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreCurrent(),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	)
}
