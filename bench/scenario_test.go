package bench_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wshub/wshub/bench"
	"github.com/wshub/wshub/engine"
)

// workerEnv makes the test binary serve as a -procs worker.
const workerEnv = "WSBENCH_TEST_WORKER=1"

// TestMain serves as a worker process when asked to, and otherwise fails
// the package if a goroutine outlives the tests (gnet's package-level ants
// pool excepted, as in engine's tests).
func TestMain(m *testing.M) {
	if os.Getenv("WSBENCH_TEST_WORKER") == "1" {
		if err := bench.ServeWorker(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m,
		goleak.IgnoreCurrent(),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	)
}

// relay decides whether the test chat server relays a message.
type relay func(payload []byte) bool

func relayAll([]byte) bool { return true }

// newChat builds a server with cmd/wshub's contract: /ws?room=NAME relays
// every message to every member of the room, sender included; /echo; and
// /stats with heap_inuse, stack_inuse and goroutines.
func newChat(pass relay) *engine.Server {
	srv := engine.New(engine.WithLoops(2))
	srv.Handle("/ws", engine.Handler{
		OnConnect: func(c *engine.Conn) {
			q, _ := c.Query()
			room := q.Get("room")
			c.SetValue(room)
			_ = c.Join(room)
		},
		OnMessage: func(c *engine.Conn, op engine.OpCode, p []byte) {
			if pass(p) {
				_ = srv.Publish(c.Value().(string), op, p)
			}
		},
	})
	srv.Handle("/echo", engine.Handler{
		OnMessage: func(c *engine.Conn, op engine.OpCode, p []byte) { _ = c.Send(op, p) },
	})
	srv.HandleHTTP("/stats", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := map[string]any{}
		if r.URL.Query().Get("collect") == "1" {
			runtime.GC() // as cmd/wshub's /stats does; the live heap comes only then
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			m["heap_alloc"] = ms.HeapAlloc
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		m["heap_inuse"], m["stack_inuse"], m["goroutines"] = ms.HeapInuse, ms.StackInuse, runtime.NumGoroutine()
		_ = json.NewEncoder(w).Encode(m)
	}))
	return srv
}

// startChat starts a chat server on addr and stops it when the test ends.
func startChat(t *testing.T, addr string, pass relay) *engine.Server {
	t.Helper()
	srv := newChat(pass)
	if err := srv.Start(addr); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { stopChat(t, srv) })
	return srv
}

func stopChat(t *testing.T, srv *engine.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Stop(ctx)
}

// testWriter sends the run's progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// run runs cfg against addr and checks that the run was set up.
func run(t *testing.T, addr string, cfg bench.Config) *bench.Result {
	t.Helper()
	cfg.Addr, cfg.Label, cfg.ServerPID = addr, "test", os.Getpid()
	cfg.Loops = 2
	if cfg.Drain == 0 {
		cfg.Drain = 5 * time.Second
	}
	res, err := bench.Run(context.Background(), cfg, testWriter{t})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var b strings.Builder
	res.WriteSummary(&b)
	t.Log("\n" + b.String())
	return res
}

// checkDelivered fails unless every expected message arrived with sane
// figures.
func checkDelivered(t *testing.T, res *bench.Result, expected int64) {
	t.Helper()
	if !res.OK || res.Lost != 0 || res.Dropped != 0 || res.ConnFailed != 0 {
		t.Fatalf("run failed: %v (lost %d, dropped %d, failed %d)", res.Failures, res.Lost, res.Dropped, res.ConnFailed)
	}
	if res.Expected != expected || res.Delivered != expected {
		t.Errorf("delivered %d of %d, want %d of %d", res.Delivered, res.Expected, expected, expected)
	}
	l := res.Latency
	if l == nil || l.Count != uint64(expected) {
		t.Fatalf("latency = %+v, want %d samples", l, expected)
	}
	if !(0 < l.P50 && l.P50 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max && l.Max < 10e6) {
		t.Errorf("latency µs not ordered or absurd: %+v", l)
	}
	if res.PerSecond <= 0 || res.Elapsed <= 0 || res.Client.Phase <= 0 {
		t.Errorf("per second %g, elapsed %g s, phase %g s: want all > 0", res.PerSecond, res.Elapsed, res.Client.Phase)
	}
}

func TestBroadcastBurst(t *testing.T) {
	t.Parallel()
	srv := startChat(t, "127.0.0.1:0", relayAll)
	res := run(t, srv.Addr().String(), bench.Config{Scenario: bench.ScenarioBroadcast, Conns: 40, Msgs: 25, Size: 100})
	checkDelivered(t, res, 40*25)
	if res.Sent != 25 || res.Name != "broadcast-burst" {
		t.Errorf("sent %d as %q, want 25 as broadcast-burst", res.Sent, res.Name)
	}
}

func TestBroadcastSteady(t *testing.T) {
	t.Parallel()
	srv := startChat(t, "127.0.0.1:0", relayAll)
	res := run(t, srv.Addr().String(), bench.Config{Scenario: bench.ScenarioBroadcast, Mode: bench.ModeSteady, Conns: 20, Msgs: 10, Rate: 50})
	checkDelivered(t, res, 20*10)
	// 10 messages 20 ms apart: the first send and the last delivery are
	// at least 9 intervals apart.
	if res.Elapsed < 0.17 || res.Elapsed > 2 {
		t.Errorf("elapsed %.3f s, want about 0.18 s", res.Elapsed)
	}
}

func TestRooms(t *testing.T) {
	t.Parallel()
	srv := startChat(t, "127.0.0.1:0", relayAll)
	res := run(t, srv.Addr().String(), bench.Config{Scenario: bench.ScenarioRooms, Rooms: 4, Members: 5, Rate: 20, Duration: 500 * time.Millisecond})
	// 20 members send 10 messages each; each reaches the 5 members of
	// its room.
	checkDelivered(t, res, 20*10*5)
	if res.Sent != 200 {
		t.Errorf("sent %d, want 200", res.Sent)
	}
}

func TestEcho(t *testing.T) {
	t.Parallel()
	srv := startChat(t, "127.0.0.1:0", relayAll)
	res := run(t, srv.Addr().String(), bench.Config{Scenario: bench.ScenarioEcho, Conns: 10, Duration: 500 * time.Millisecond})
	if res.Sent < 10 {
		t.Fatalf("sent %d, want at least one per connection", res.Sent)
	}
	checkDelivered(t, res, res.Sent)
	if res.Server.CPUPerMillion <= 0 {
		t.Errorf("server CPU per 1M = %g, want > 0", res.Server.CPUPerMillion)
	}
}

func TestIdle(t *testing.T) {
	t.Parallel()
	srv := startChat(t, "127.0.0.1:0", relayAll)
	addr := srv.Addr().String()
	res := run(t, addr, bench.Config{Scenario: bench.ScenarioIdle, IdleAt: []int{20, 60}, Settle: 100 * time.Millisecond, StatsURL: "http://" + addr + "/stats"})
	if !res.OK || res.Conns != 60 {
		t.Fatalf("run failed: %v, %d conns", res.Failures, res.Conns)
	}
	pts := res.Idle.Points
	if len(pts) != 2 || pts[0].Conns != 20 || pts[1].Conns != 60 || pts[0].RSS <= 0 {
		t.Fatalf("points = %+v", pts)
	}
	if pts[1].HeapInuse == nil || pts[1].Goroutines == nil || res.Idle.HeapPerConn == nil {
		t.Errorf("stats missing: %+v, heap per conn %v", pts[1].ServerStats, res.Idle.HeapPerConn)
	}
	if pts[1].LiveHeap == nil || pts[1].CollectedRSS == nil || res.Idle.LivePerConn == nil {
		t.Errorf("collected figures missing: live %v, RSS %v, live per conn %v",
			pts[1].LiveHeap, pts[1].CollectedRSS, res.Idle.LivePerConn)
	}
}

func TestConnect(t *testing.T) {
	t.Parallel()
	srv := startChat(t, "127.0.0.1:0", relayAll)
	res := run(t, srv.Addr().String(), bench.Config{Scenario: bench.ScenarioConnect, Conns: 100, DialRate: 5000})
	if !res.OK || res.Conns != 100 || res.Latency == nil || res.Latency.Count != 100 {
		t.Fatalf("run failed: %v, %d conns, latency %+v", res.Failures, res.Conns, res.Latency)
	}
	if res.PerSecond <= 0 || res.PerSecond > 5000*1.5 {
		t.Errorf("%g handshakes/s, want within the 5000/s dial rate", res.PerSecond)
	}
}

// restartChat starts a chat server on addr again, retrying for a while as
// a supervisor does: the clients redialling meanwhile may hold the port for
// a moment (a loopback connect to a port nobody listens on can pick that
// port as its source and connect to itself).
func restartChat(addr string) (*engine.Server, error) {
	var err error
	for range 100 {
		srv := newChat(relayAll)
		if err = srv.Start(addr); err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			return srv, err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, err
}

// TestConnectRestart restarts the server from the restart command (a
// signal to this process) and checks that every client comes back.
func TestConnectRestart(t *testing.T) {
	t.Parallel()
	srv := startChat(t, "127.0.0.1:0", relayAll)
	addr := srv.Addr().String()
	ready := filepath.Join(t.TempDir(), "ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	defer signal.Stop(sig)
	restarted := make(chan *engine.Server, 1)
	go func() {
		<-sig
		stopChat(t, srv)
		next, err := restartChat(addr)
		if err != nil {
			t.Errorf("restart: %v", err)
		}
		restarted <- next
		_ = os.WriteFile(ready, nil, 0o644)
	}()
	cmd := fmt.Sprintf("kill -USR1 %d && while [ ! -e %s ]; do sleep 0.02; done", os.Getpid(), ready)
	res := run(t, addr, bench.Config{Scenario: bench.ScenarioConnect, Conns: 50, Restart: cmd, Drain: 10 * time.Second})
	select {
	case next := <-restarted:
		if next != nil {
			defer stopChat(t, next)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the restart command did not restart the server")
	}
	rc := res.Reconnect
	if !res.OK || rc == nil || rc.Reopened != 50 || rc.Dropped < 50 {
		t.Fatalf("run failed: %v, reconnect %+v", res.Failures, rc)
	}
	if rc.Seconds <= 0 || rc.Seconds < rc.AfterReady || rc.Seconds > 20 {
		t.Errorf("reconnect times %+v not sane", rc)
	}
}

// TestProcs spreads a broadcast over two worker processes (this test
// binary re-run as workers).
func TestProcs(t *testing.T) {
	t.Parallel()
	srv := startChat(t, "127.0.0.1:0", relayAll)
	res := run(t, srv.Addr().String(), bench.Config{
		Scenario: bench.ScenarioBroadcast, Conns: 30, Msgs: 10, Procs: 2,
		WorkerCommand: []string{os.Args[0], "-test.run=^$"}, WorkerEnv: []string{workerEnv},
	})
	checkDelivered(t, res, 30*10)
	if res.Client.CPUSeconds < 0 {
		t.Errorf("client CPU %g", res.Client.CPUSeconds)
	}
}

// TestLossIsAFailure: a server that drops one message fails the run,
// saying how many were lost.
func TestLossIsAFailure(t *testing.T) {
	t.Parallel()
	dropSeq5 := func(p []byte) bool { return len(p) < 16 || binary.BigEndian.Uint64(p[8:]) != 5 }
	srv := startChat(t, "127.0.0.1:0", dropSeq5)
	res := run(t, srv.Addr().String(), bench.Config{Scenario: bench.ScenarioBroadcast, Conns: 10, Msgs: 8, Drain: 300 * time.Millisecond})
	if res.OK || res.Lost != 10 || !strings.Contains(strings.Join(res.Failures, ";"), "10 of 80 messages lost") {
		t.Errorf("OK %v, lost %d, failures %v; want a failure for 10 of 80 lost", res.OK, res.Lost, res.Failures)
	}
}

// TestRefusedConnectionsAreAFailure: a server without the route refuses
// every handshake; the run fails and counts them.
func TestRefusedConnectionsAreAFailure(t *testing.T) {
	t.Parallel()
	srv := engine.New()
	srv.Handle("/other", engine.Handler{})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer stopChat(t, srv)
	res := run(t, srv.Addr().String(), bench.Config{Scenario: bench.ScenarioEcho, Conns: 5, Duration: 100 * time.Millisecond})
	if res.OK || res.ConnFailed != 5 || !strings.Contains(strings.Join(res.Failures, ";"), "404") {
		t.Errorf("OK %v, failed %d, failures %v; want 5 refused with 404", res.OK, res.ConnFailed, res.Failures)
	}
}
