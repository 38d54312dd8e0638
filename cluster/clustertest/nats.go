package clustertest

import (
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// RunNATS runs an embedded NATS server on 127.0.0.1:port (-1: a free one)
// for the test; cleanup stops it. The cluster's tests, the command's and
// the browser tests share it.
func RunNATS(t testing.TB, port int) *natsserver.Server {
	t.Helper()
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

// StartNATS runs an embedded NATS server on a free port and returns its
// client URL.
func StartNATS(t testing.TB) string {
	t.Helper()
	return RunNATS(t, -1).ClientURL()
}
