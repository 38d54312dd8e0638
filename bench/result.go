package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// clientBusy is the client CPU share (of one CPU) from which the client,
// not the server, is taken to be the bottleneck.
const clientBusy = 0.85

// minJudgedPhase is the shortest measured phase whose CPU share is judged:
// /proc counts CPU in 10 ms ticks.
const minJudgedPhase = 300 * time.Millisecond

// Result is one run: what was asked, what was measured, and what went
// wrong. It is written as one JSON line.
type Result struct {
	Time     time.Time `json:"time"`
	Scenario string    `json:"scenario"` // idle, broadcast, rooms, echo, connect, inflate
	// Name is the table key: the scenario, or broadcast-burst /
	// broadcast-steady, with -json for the JSON payload, or -z (instead)
	// with compression: broadcast-burst-json, broadcast-burst-z, idle-z.
	Name   string `json:"name"`
	Label  string `json:"label"` // the server
	Params Params `json:"params"`
	Host   Host   `json:"host"`

	OK               bool     `json:"ok"`
	Failures         []string `json:"failures,omitempty"`
	Warnings         []string `json:"warnings,omitempty"`
	ClientBottleneck bool     `json:"client_bottleneck"`

	Conns      int            `json:"conns"` // connections that opened
	ConnFailed int            `json:"conn_failed"`
	ConnErrors map[string]int `json:"conn_errors,omitempty"`
	Dropped    int64          `json:"dropped"` // closed by the server or an error mid-run

	Sent      int64    `json:"sent,omitempty"`      // measured messages published
	Expected  int64    `json:"expected,omitempty"`  // deliveries expected
	Delivered int64    `json:"delivered,omitempty"` // deliveries received
	Lost      int64    `json:"lost"`
	Elapsed   float64  `json:"elapsed_s,omitempty"`  // first send to last delivery
	PerSecond float64  `json:"per_second,omitempty"` // deliveries/s; echo, inflate: messages/s; connect: handshakes/s
	Latency   *Latency `json:"latency_us,omitempty"` // delivery latency; connect: handshake time
	Reconnect *Restart `json:"reconnect,omitempty"`  // connect with a restart command
	Idle      *Idle    `json:"idle,omitempty"`       // idle memory
	// Compression is set when permessage-deflate was offered.
	Compression *Compression `json:"compression,omitempty"`
	Inflate     *Inflate     `json:"inflate,omitempty"` // the inflate scenario's figures
	// A cluster run (Config.Cluster): each node's share, in Config.Addr's
	// order, and what went through NATS.
	Nodes  []Node `json:"nodes,omitempty"`
	NATS   *NATS  `json:"nats,omitempty"`
	Server Server `json:"server"` // a cluster's: CPU and RSS of every node together
	Client Client `json:"client"`
}

// Params are the inputs that shape the figures.
type Params struct {
	Conns    int     `json:"conns,omitempty"`
	IdleAt   []int   `json:"idle_at,omitempty"`
	Msgs     int     `json:"msgs,omitempty"`
	Size     int     `json:"size,omitempty"`
	Mode     string  `json:"mode,omitempty"`
	Rate     float64 `json:"rate,omitempty"`
	Rooms    int     `json:"rooms,omitempty"`
	Members  int     `json:"members,omitempty"`
	Duration float64 `json:"duration_s,omitempty"`
	Nodes    int     `json:"nodes,omitempty"`       // a cluster run's nodes
	Payload  string  `json:"payload,omitempty"`     // binary or json
	Compress bool    `json:"compression,omitempty"` // permessage-deflate offered
	DialRate int     `json:"dial_rate"`
	Procs    int     `json:"procs"`
	Loops    int     `json:"loops"`
	Sources  int     `json:"sources"`
}

// Latency percentiles in microseconds.
type Latency struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

func newLatency(h *Histogram) *Latency {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	return &Latency{
		Count: h.Count(), Mean: h.Mean() / 1e3,
		P50: us(h.Percentile(50)), P99: us(h.Percentile(99)),
		P999: us(h.Percentile(99.9)), Max: us(h.Max()),
	}
}

// Restart is the reconnect measurement of the connect scenario.
type Restart struct {
	CommandSeconds float64 `json:"command_s"`     // the restart command's run time
	Seconds        float64 `json:"seconds"`       // restart command start to all reconnected
	AfterDrop      float64 `json:"after_drop_s"`  // first drop to all reconnected
	AfterReady     float64 `json:"after_ready_s"` // restart command end (server back) to all reconnected
	Dropped        int64   `json:"dropped"`       // connections that saw the server go
	Reopened       int     `json:"reopened"`      // connections back
	Redials        int64   `json:"redials"`       // redials scheduled (each failure backs off)
	NewPID         int     `json:"new_pid,omitempty"`
}

// Idle is the memory of the idle scenario at each connection count.
type Idle struct {
	Points       []IdlePoint `json:"points"`
	RSSPerConn   float64     `json:"rss_per_conn"`             // bytes per added connection
	HeapPerConn  *float64    `json:"heap_per_conn,omitempty"`  // from the stats URL
	StackPerConn *float64    `json:"stack_per_conn,omitempty"` // from the stats URL
	// After the server collected its heap (a stats URL that takes
	// ?collect=1): RSS and live heap per added connection.
	CollectedRSSPerConn *float64 `json:"collected_rss_per_conn,omitempty"`
	LivePerConn         *float64 `json:"live_per_conn,omitempty"`
}

// IdlePoint is the server's memory with Conns connections open.
type IdlePoint struct {
	Conns int   `json:"conns"`
	RSS   int64 `json:"rss"`
	// CollectedRSS and LiveHeap are measured after the above, once the
	// server has collected its heap (stats URL with ?collect=1).
	CollectedRSS *int64 `json:"collected_rss,omitempty"`
	LiveHeap     *int64 `json:"live_heap,omitempty"`
	ServerStats
}

// Compression is what permessage-deflate did in a run that offered it.
type Compression struct {
	Negotiated int    `json:"negotiated"`       // connections that got it, of Result.Conns
	Answer     string `json:"answer,omitempty"` // the server's Sec-WebSocket-Extensions, the first seen
	ZTraffic
}

// ZTraffic counts the data messages of the connections that negotiated
// permessage-deflate.
type ZTraffic struct {
	Received      int64 `json:"received"`       // compressed (RSV1) messages received
	ReceivedPlain int64 `json:"received_plain"` // uncompressed ones
	ReceivedWire  int64 `json:"received_wire"`  // compressed payload bytes received
	Inflated      int64 `json:"inflated"`       // what they inflated to (not counted when dropped unread)
	// Memo counts the compressed messages a client loop had inflated
	// before, from the same bytes (a broadcast): compared byte for byte
	// instead of inflated again.
	Memo     int64 `json:"memo"`
	Sent     int64 `json:"sent"`      // compressed messages sent
	SentRaw  int64 `json:"sent_raw"`  // their size before compressing
	SentWire int64 `json:"sent_wire"` // and as sent
	// Echoes counts the messages the inflate scenario's route sent back,
	// dropped unread; Repings, the pings it sent again because their pong
	// was overdue.
	Echoes  int64 `json:"echoes,omitempty"`
	Repings int64 `json:"repings,omitempty"`
}

func (t *ZTraffic) add(o *ZTraffic) {
	t.Received += o.Received
	t.ReceivedPlain += o.ReceivedPlain
	t.ReceivedWire += o.ReceivedWire
	t.Inflated += o.Inflated
	t.Memo += o.Memo
	t.Sent += o.Sent
	t.SentRaw += o.SentRaw
	t.SentWire += o.SentWire
	t.Echoes += o.Echoes
	t.Repings += o.Repings
}

// ratio is compressed size over original size, 0 when unknown.
func ratio(wire, raw int64) float64 {
	if raw <= 0 {
		return 0
	}
	return float64(wire) / float64(raw)
}

// Inflate is the inflate scenario's measurement: the server's cost of
// inflating what the clients sent.
type Inflate struct {
	Target string `json:"target"` // the route: /sink, or /echo for a server without it
	// Echoed: the route sent the messages back, so the server's CPU also
	// paid for compressing them.
	Echoed      bool    `json:"echoed"`
	Bytes       int64   `json:"bytes"`         // the messages' size before compressing: what the server inflated
	WireBytes   int64   `json:"wire_bytes"`    // and as sent
	MBPerSecond float64 `json:"mb_per_s"`      // Bytes in 10^6 per second, first send to last pong
	CPUPerMB    float64 `json:"cpu_ms_per_mb"` // server CPU milliseconds per 10^6 bytes inflated
	RSSBefore   int64   `json:"rss_before"`    // server RSS with every client connected, before sending
	PeakRSS     int64   `json:"peak_rss"`      // the server's highest RSS: VmHWM, or higher samples (every 100 ms)
	// From the stats URL, when the server has one: heap in use before
	// sending, and the highest sampled (every 100 ms) while sending.
	HeapBefore *int64 `json:"heap_before,omitempty"`
	PeakHeap   *int64 `json:"peak_heap,omitempty"`
}

// Server is what was measured of the server process.
type Server struct {
	PID           int          `json:"pid,omitempty"`
	CPUSeconds    float64      `json:"cpu_s"`                       // during the measured phase
	CPUPerMillion float64      `json:"cpu_s_per_million,omitempty"` // per 1M deliveries (echo: messages)
	RSS           int64        `json:"rss,omitempty"`               // at the end
	Stats         *ServerStats `json:"stats,omitempty"`             // at the end, from the stats URL
}

// Client is what the load generator itself used.
type Client struct {
	CPUSeconds float64 `json:"cpu_s"`     // all client processes, measured phase
	CPUShare   float64 `json:"cpu_share"` // CPU seconds per elapsed second (1 = one CPU busy)
	Phase      float64 `json:"phase_s"`   // the measured phase's wall time
}

// fail records a failure: the run exits non-zero.
func (r *Result) fail(format string, args ...any) {
	r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
	r.OK = false
}

func (r *Result) warn(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

// judgeClient marks the run when the client was busy enough to be the
// bottleneck.
func (r *Result) judgeClient() {
	c := &r.Client
	if c.Phase > 0 {
		c.CPUShare = c.CPUSeconds / c.Phase
	}
	if time.Duration(c.Phase*float64(time.Second)) < minJudgedPhase {
		r.warn("the measured phase (%.2f s) is too short to judge CPU: /proc counts 10 ms ticks; send more for CPU figures", c.Phase)
		return
	}
	if c.CPUShare >= clientBusy {
		r.ClientBottleneck = true
		r.warn("the CLIENT used %.0f%% of a CPU: it, not the server, was the bottleneck; these figures understate the server", 100*c.CPUShare)
	}
}

// WriteSummary writes the human-readable summary.
func (r *Result) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "== %s against %s\n", r.Name, r.Label)
	fmt.Fprintf(w, "connections   %d open, %d failed, %d dropped\n", r.Conns, r.ConnFailed, r.Dropped)
	if r.Expected > 0 || r.Sent > 0 {
		fmt.Fprintf(w, "messages      %d sent, %d of %d delivered, %d lost\n", r.Sent, r.Delivered, r.Expected, r.Lost)
	}
	if r.PerSecond > 0 {
		fmt.Fprintf(w, "throughput    %.0f %s in %.3f s\n", r.PerSecond, perSecondUnit(r.Scenario), r.Elapsed)
	}
	if l := r.Latency; l != nil && l.Count > 0 {
		fmt.Fprintf(w, "latency µs    p50 %.0f  p99 %.0f  p99.9 %.0f  max %.0f  (%d samples)\n", l.P50, l.P99, l.P999, l.Max, l.Count)
	}
	r.writeNodes(w)
	r.writeIdle(w)
	r.writeCompression(w)
	if rc := r.Reconnect; rc != nil {
		fmt.Fprintf(w, "restart       %d of %d dropped reconnected %.2f s after the restart began (command %.2f s; %.2f s after the first drop, %.2f s after the server was back; %d redials)\n",
			rc.Reopened, rc.Dropped, rc.Seconds, rc.CommandSeconds, rc.AfterDrop, rc.AfterReady, rc.Redials)
	}
	s := r.Server
	fmt.Fprintf(w, "server        CPU %.2f s", s.CPUSeconds)
	if s.CPUPerMillion > 0 {
		fmt.Fprintf(w, " (%.2f s per 1M)", s.CPUPerMillion)
	}
	if s.RSS > 0 {
		fmt.Fprintf(w, ", RSS %.1f MiB", float64(s.RSS)/(1<<20))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "client        CPU %.2f s over %.2f s = %.0f%% of a CPU\n", r.Client.CPUSeconds, r.Client.Phase, 100*r.Client.CPUShare)
	for _, m := range r.Warnings {
		fmt.Fprintf(w, "WARNING: %s\n", m)
	}
	for _, m := range r.Failures {
		fmt.Fprintf(w, "FAIL: %s\n", m)
	}
}

// writeNodes writes a cluster run's figures per node, and its NATS
// traffic.
func (r *Result) writeNodes(w io.Writer) {
	for i, n := range r.Nodes {
		fmt.Fprintf(w, "node %-8d %s: %d conns, %d sent, %d of %d delivered, %d lost", i+1, n.Addr, n.Conns, n.Sent, n.Delivered, n.Expected, n.Lost)
		if n.PerSecond > 0 {
			fmt.Fprintf(w, ", %.0f %s", n.PerSecond, perSecondUnit(r.Scenario))
		}
		if l := n.Latency; l != nil && l.Count > 0 {
			fmt.Fprintf(w, ", latency µs p50 %.0f p99 %.0f", l.P50, l.P99)
		}
		if x := n.NATS; x != nil {
			fmt.Fprintf(w, "; NATS: %d published, %d received", x.Published, x.Received)
		}
		fmt.Fprintln(w)
	}
	n := r.NATS
	if n == nil || r.Scenario != ScenarioBroadcast && r.Scenario != ScenarioRooms {
		return
	}
	fmt.Fprintf(w, "NATS          per published message: %.2f to NATS, %.2f from NATS to nodes (want %.2f: one per other node with members in the room)",
		n.PublishedPer, n.ReceivedPer, n.WantPer)
	if n.InPer != nil && n.OutPer != nil {
		fmt.Fprintf(w, "; nats-server in_msgs %.2f, out_msgs %.2f (%d, %d; presence included)", *n.InPer, *n.OutPer, *n.InMsgs, *n.OutMsgs)
	}
	if n.CPUSeconds > 0 {
		fmt.Fprintf(w, "; nats-server CPU %.2f s", n.CPUSeconds)
	}
	fmt.Fprintln(w)
}

func (r *Result) writeIdle(w io.Writer) {
	if r.Idle == nil {
		return
	}
	for _, p := range r.Idle.Points {
		fmt.Fprintf(w, "memory        %6d conns: RSS %.1f MiB", p.Conns, float64(p.RSS)/(1<<20))
		if p.HeapInuse != nil && p.StackInuse != nil {
			fmt.Fprintf(w, ", heap %.1f MiB, stacks %.1f MiB", float64(*p.HeapInuse)/(1<<20), float64(*p.StackInuse)/(1<<20))
		}
		if p.Goroutines != nil {
			fmt.Fprintf(w, ", %d goroutines", *p.Goroutines)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "per conn      RSS %.0f B", r.Idle.RSSPerConn)
	if r.Idle.HeapPerConn != nil && r.Idle.StackPerConn != nil {
		fmt.Fprintf(w, ", heap %.0f B, stack %.0f B", *r.Idle.HeapPerConn, *r.Idle.StackPerConn)
	}
	if r.Idle.CollectedRSSPerConn != nil && r.Idle.LivePerConn != nil {
		fmt.Fprintf(w, "; collected: RSS %.0f B, live heap %.0f B", *r.Idle.CollectedRSSPerConn, *r.Idle.LivePerConn)
	}
	fmt.Fprintln(w)
}

// writeCompression writes what permessage-deflate did and, for the
// inflate scenario, its figures.
func (r *Result) writeCompression(w io.Writer) {
	c := r.Compression
	if c == nil {
		return
	}
	fmt.Fprintf(w, "compressed    %d of %d connections negotiated", c.Negotiated, r.Conns)
	if c.Answer != "" {
		fmt.Fprintf(w, " (%s)", c.Answer)
	}
	fmt.Fprintln(w)
	if c.Received+c.ReceivedPlain > 0 {
		fmt.Fprintf(w, "received      %d compressed (%d inflated once per loop and compared), %d uncompressed", c.Received, c.Memo, c.ReceivedPlain)
		if v := ratio(c.ReceivedWire, c.Inflated); v > 0 {
			fmt.Fprintf(w, "; %.2f of their size on the wire", v)
		}
		fmt.Fprintln(w)
	}
	if c.Sent > 0 {
		fmt.Fprintf(w, "sent          %d compressed, %.2f of their size on the wire\n", c.Sent, ratio(c.SentWire, c.SentRaw))
	}
	if in := r.Inflate; in != nil {
		fmt.Fprintf(w, "inflate       %.1f MB to %s at %.1f MB/s: server CPU %.2f ms per MB", float64(in.Bytes)/1e6, in.Target, in.MBPerSecond, in.CPUPerMB)
		if in.Echoed {
			fmt.Fprintf(w, " (with compressing %d echoes)", c.Echoes)
		}
		if c.Repings > 0 {
			fmt.Fprintf(w, "; %d pings sent again (their pong was over %v late)", c.Repings, repingAfter)
		}
		fmt.Fprintf(w, "; RSS %.1f MiB before, peak %.1f MiB", mib(in.RSSBefore), mib(in.PeakRSS))
		if in.PeakHeap != nil && in.HeapBefore != nil {
			fmt.Fprintf(w, "; heap %.1f MiB before, peak %.1f MiB", mib(*in.HeapBefore), mib(*in.PeakHeap))
		}
		fmt.Fprintln(w)
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func perSecondUnit(scenario string) string {
	switch scenario {
	case ScenarioEcho, ScenarioInflate:
		return "messages/s"
	case ScenarioConnect:
		return "handshakes/s"
	}
	return "deliveries/s"
}

// describeErrors renders counted errors, most frequent first.
func describeErrors(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, m[k])
	}
	return strings.Join(parts, "; ")
}
