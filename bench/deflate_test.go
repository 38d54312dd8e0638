package bench_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wshub/wshub/bench"
)

// gorillaServer is the reference for permessage-deflate: gorilla/websocket
// (compress/flate, server_no_context_takeover and
// client_no_context_takeover), with the routes of the scenarios:
// /ws?room=NAME (every message to every member, one PreparedMessage each,
// as bench/peers/gorilla does), /echo and, unless told not to, /sink.
type gorillaServer struct {
	srv      *httptest.Server
	upgrader websocket.Upgrader
	wg       sync.WaitGroup
	mu       sync.Mutex
	open     map[*member]bool
	rooms    map[string]map[*member]bool
	dropPong bool
}

type member struct {
	c  *websocket.Conn
	mu sync.Mutex // serialises the writes of data messages
}

// gorillaOpts say how the reference server differs from the default
// (compression on, /sink served, every ping answered).
type gorillaOpts struct {
	noCompression bool
	noSink        bool
	dropPong      bool // the second ping of each connection gets no pong
}

// startGorilla serves on 127.0.0.1:0 until the test ends; it returns the
// address.
func startGorilla(t *testing.T, o gorillaOpts) string {
	t.Helper()
	s := &gorillaServer{
		upgrader: websocket.Upgrader{EnableCompression: !o.noCompression},
		open:     map[*member]bool{}, rooms: map[string]map[*member]bool{},
		dropPong: o.dropPong,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", s.handle(true, s.publish))
	mux.HandleFunc("/echo", s.handle(false, func(m *member, _ string, mt int, msg []byte) error { return m.write(mt, msg) }))
	if !o.noSink {
		mux.HandleFunc("/sink", s.handle(false, func(*member, string, int, []byte) error { return nil }))
	}
	s.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.srv.Close() // upgraded connections are hijacked: closed below
		s.mu.Lock()
		for m := range s.open {
			_ = m.c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return strings.TrimPrefix(s.srv.URL, "http://")
}

// handle upgrades, puts the connection in its room if join is set, and
// calls onMessage for every message it reads. gorilla's default ping
// handler answers pings.
func (s *gorillaServer) handle(join bool, onMessage func(m *member, room string, mt int, msg []byte) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.wg.Add(1)
		defer s.wg.Done()
		c, err := s.upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		m, room := &member{c: c}, r.URL.Query().Get("room")
		if s.dropPong {
			dropSecondPong(c)
		}
		s.enter(m, room, join)
		defer s.leave(m)
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil || onMessage(m, room, mt, msg) != nil {
				return
			}
		}
	}
}

func (s *gorillaServer) enter(m *member, room string, join bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open[m] = true
	if !join {
		return
	}
	if s.rooms[room] == nil {
		s.rooms[room] = map[*member]bool{}
	}
	s.rooms[room][m] = true
}

func (s *gorillaServer) leave(m *member) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.open, m)
	for _, members := range s.rooms {
		delete(members, m)
	}
	_ = m.c.Close()
}

// dropSecondPong leaves the second ping unanswered (in the inflate
// scenario, the first measured message's; the first is the warm-up's), as
// gorilla's default handler does with a pong it cannot write within a
// second.
func dropSecondPong(c *websocket.Conn) {
	n := 0
	c.SetPingHandler(func(data string) error {
		if n++; n == 2 {
			return nil
		}
		return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
}

func (m *member) write(mt int, msg []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.c.WriteMessage(mt, msg)
}

// publish prepares the message once (compressed once for every member that
// negotiated compression) and writes it to every member of the room.
func (s *gorillaServer) publish(_ *member, room string, mt int, msg []byte) error {
	pm, err := websocket.NewPreparedMessage(mt, msg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	var members []*member
	for m := range s.rooms[room] {
		members = append(members, m)
	}
	s.mu.Unlock()
	for _, m := range members {
		m.mu.Lock()
		_ = m.c.WritePreparedMessage(pm)
		m.mu.Unlock()
	}
	return nil
}

// TestBroadcastCompressed: every delivery comes compressed and is
// inflated, once per client loop, and compared byte for byte for the
// other members; the messages the client sends compressed reach gorilla
// whole (it relays what it inflated).
func TestBroadcastCompressed(t *testing.T) {
	t.Parallel()
	addr := startGorilla(t, gorillaOpts{})
	res := run(t, addr, bench.Config{Scenario: bench.ScenarioBroadcast, Conns: 40, Msgs: 25, Size: 1024,
		Payload: bench.PayloadJSON, Compression: true})
	checkDelivered(t, res, 40*25)
	c := res.Compression
	if res.Name != "broadcast-burst-z" || c == nil || c.Negotiated != 40 || !strings.Contains(c.Answer, "server_no_context_takeover") {
		t.Fatalf("name %q, compression %+v: want broadcast-burst-z, 40 negotiated", res.Name, c)
	}
	// The 25 messages and a warm-up (or more: the server adds a member to
	// its room just after the 101, so a warm-up may be sent again) reach
	// every connection, all compressed.
	warmups := c.Sent - res.Sent
	if warmups < 1 || c.Received < 40*(25+1) || c.Received > 40*(25+warmups) || c.ReceivedPlain != 0 || c.Inflated != c.Received*1024 {
		t.Errorf("received %d compressed (%d B inflated), %d plain, after %d warm-ups; want %d to %d, 1 KiB each, 0",
			c.Received, c.Inflated, c.ReceivedPlain, warmups, 40*26, 40*(25+warmups))
	}
	// Each message is inflated at least once; two client loops see most
	// of them.
	if c.Memo == 0 || c.Memo > c.Received-(25+warmups) {
		t.Errorf("memo %d of %d: want most, and each message inflated at least once", c.Memo, c.Received)
	}
	if r := float64(c.ReceivedWire) / float64(c.Inflated); r > 0.6 {
		t.Errorf("received %.2f of the size on the wire: JSON compresses better", r)
	}
	if c.SentRaw != c.Sent*1024 || c.SentWire >= c.SentRaw/2 {
		t.Errorf("sent %d compressed, %d B → %d B; want 1 KiB each, halved", c.Sent, c.SentRaw, c.SentWire)
	}
}

// TestEchoCompressed: binary messages, compressed both ways, one by one.
func TestEchoCompressed(t *testing.T) {
	t.Parallel()
	addr := startGorilla(t, gorillaOpts{})
	res := run(t, addr, bench.Config{Scenario: bench.ScenarioEcho, Conns: 5, Duration: 300 * time.Millisecond, Compression: true})
	checkDelivered(t, res, res.Sent)
	c := res.Compression
	if c == nil || c.Negotiated != 5 || c.Received < res.Delivered || c.ReceivedPlain != 0 || c.Memo != 0 {
		t.Errorf("compression %+v: want 5 negotiated, every echo compressed, none alike", c)
	}
}

// TestProcsCompressed: the counts travel from the worker processes.
func TestProcsCompressed(t *testing.T) {
	t.Parallel()
	addr := startGorilla(t, gorillaOpts{})
	res := run(t, addr, bench.Config{
		Scenario: bench.ScenarioBroadcast, Conns: 30, Msgs: 10, Procs: 2, Compression: true,
		WorkerCommand: []string{os.Args[0], "-test.run=^$"}, WorkerEnv: []string{workerEnv},
	})
	checkDelivered(t, res, 30*10)
	if c := res.Compression; c == nil || c.Negotiated != 30 || c.Received < 30*11 || c.ReceivedPlain != 0 {
		t.Errorf("compression %+v: want 30 negotiated, 330 or more received compressed", c)
	}
}

// TestInflate: every connection sends its quota, compressed, each message
// answered by the pong of the ping behind it.
func TestInflate(t *testing.T) {
	t.Parallel()
	addr := startGorilla(t, gorillaOpts{})
	res := run(t, addr, bench.Config{Scenario: bench.ScenarioInflate, Conns: 10, Msgs: 5, Compression: true})
	checkDelivered(t, res, 10*5)
	in, c := res.Inflate, res.Compression
	if res.Name != "inflate" || in == nil || in.Target != "/sink" || in.Echoed || c.Echoes != 0 || len(res.Warnings) > 1 {
		t.Fatalf("name %q, inflate %+v, %d echoes, warnings %q: want /sink, nothing back", res.Name, in, c.Echoes, res.Warnings)
	}
	if res.Sent != 50 || in.Bytes != 50*65536 || in.WireBytes <= 0 || in.WireBytes > in.Bytes/3 {
		t.Errorf("sent %d, %d B as %d B: want 50 JSON messages of 64 KiB, compressed", res.Sent, in.Bytes, in.WireBytes)
	}
	if in.RSSBefore <= 0 || in.PeakRSS < in.RSSBefore || in.MBPerSecond <= 0 {
		t.Errorf("RSS before %d, peak %d, %g MB/s: want peak >= before > 0", in.RSSBefore, in.PeakRSS, in.MBPerSecond)
	}
}

// TestInflateRepings: a pong the server drops is asked for again, so the
// connection goes on; the duplicate answers count once.
func TestInflateRepings(t *testing.T) {
	t.Parallel()
	addr := startGorilla(t, gorillaOpts{dropPong: true})
	res := run(t, addr, bench.Config{Scenario: bench.ScenarioInflate, Conns: 3, Msgs: 4, Size: 4096, Compression: true})
	checkDelivered(t, res, 3*4)
	// Each connection's first message waits a second for its pong, then
	// pings again and gets it; a slow round trip may be asked for twice.
	if c := res.Compression; c.Repings < 3 || c.Repings > 6 || res.Latency.Max < 1e6 || res.Latency.Max > 5e6 {
		t.Errorf("%d repings, latency max %.0f µs: want one per connection, the first message about 1 s", c.Repings, res.Latency.Max)
	}
}

// TestInflateOnEcho: a server without /sink is measured on /echo, and the
// result says so.
func TestInflateOnEcho(t *testing.T) {
	t.Parallel()
	addr := startGorilla(t, gorillaOpts{noSink: true})
	res := run(t, addr, bench.Config{Scenario: bench.ScenarioInflate, Conns: 4, Msgs: 3, Size: 4096, Compression: true})
	checkDelivered(t, res, 4*3)
	in := res.Inflate
	if in == nil || in.Target != "/echo" || !in.Echoed || res.Compression.Echoes < 12 {
		t.Errorf("inflate %+v, %d echoes: want /echo, echoed, at least 12", in, res.Compression.Echoes)
	}
	if !strings.Contains(strings.Join(res.Warnings, ";"), "no /sink route") {
		t.Errorf("warnings %q: want one about /sink", res.Warnings)
	}
}

// TestCompressionDeclinedIsAFailure: a run that asked for compression and
// did not get it says so and fails; the messages still arrive.
func TestCompressionDeclinedIsAFailure(t *testing.T) {
	t.Parallel()
	addr := startGorilla(t, gorillaOpts{noCompression: true})
	res := run(t, addr, bench.Config{Scenario: bench.ScenarioBroadcast, Conns: 10, Msgs: 5, Compression: true, Payload: bench.PayloadJSON, Size: 200})
	if res.OK || res.Delivered != 50 || !strings.Contains(strings.Join(res.Failures, ";"), "0 of 10 connections negotiated") {
		t.Errorf("OK %v, delivered %d, failures %q: want a failure for 0 of 10 negotiated, 50 delivered", res.OK, res.Delivered, res.Failures)
	}
	if c := res.Compression; c == nil || c.Received != 0 {
		t.Errorf("compression %+v: want nothing compressed", c)
	}
}

func TestIdleCompressed(t *testing.T) {
	t.Parallel()
	addr := startGorilla(t, gorillaOpts{})
	res := run(t, addr, bench.Config{Scenario: bench.ScenarioIdle, IdleAt: []int{10, 30}, Settle: 50 * time.Millisecond, Compression: true})
	if !res.OK || res.Name != "idle-z" || res.Compression == nil || res.Compression.Negotiated != 30 {
		t.Errorf("OK %v %v, name %q, compression %+v: want idle-z with 30 negotiated", res.OK, res.Failures, res.Name, res.Compression)
	}
}

// TestJSONThroughWshub: JSON messages are text that wshub (which checks
// UTF-8) relays, with their stamp.
func TestJSONThroughWshub(t *testing.T) {
	t.Parallel()
	srv := startChat(t, "127.0.0.1:0", relayAll)
	res := run(t, srv.Addr().String(), bench.Config{Scenario: bench.ScenarioBroadcast, Conns: 20, Msgs: 10, Size: 1024, Payload: bench.PayloadJSON})
	checkDelivered(t, res, 20*10)
	if res.Name != "broadcast-burst-json" || res.Compression != nil {
		t.Errorf("name %q, compression %+v: want broadcast-burst-json, none", res.Name, res.Compression)
	}
}
