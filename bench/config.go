package bench

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Scenarios.
const (
	ScenarioIdle      = "idle"
	ScenarioBroadcast = "broadcast"
	ScenarioRooms     = "rooms"
	ScenarioEcho      = "echo"
	ScenarioConnect   = "connect"
	ScenarioInflate   = "inflate"
)

// DefaultSink is the inflate scenario's route: the server reads each
// message and sends nothing back.
const DefaultSink = "/sink"

// Broadcast modes.
const (
	ModeBurst  = "burst"
	ModeSteady = "steady"
)

// MaxConnsPerProc keeps one process under the 20,000 open-file limit, with
// room for the event loops' epoll descriptors, dial workers and stdio.
const MaxConnsPerProc = 19000

// maxConnsPerSource stays under the default ephemeral port range
// (32768–60999, 28,232 ports) of one source address to one server.
const maxConnsPerSource = 28000

// Config says what to run. Zero fields take the defaults that
// Config.withDefaults fills in; Addr and Scenario are required. It is sent
// to worker processes as JSON.
type Config struct {
	Scenario string `json:"scenario"`
	// Addr is the server's host:port, or several, comma-separated: the
	// nodes of one cluster (Config.Cluster), over which the connections
	// are spread (Config.node).
	Addr  string `json:"addr"`
	Label string `json:"label"`          // server label in the results
	Name  string `json:"name,omitempty"` // table key in the results (default: from the scenario)
	// Cluster marks the servers as nodes of one wshub cluster (implied by
	// several addresses): the result is named cluster-…, reports each
	// node's share and, from the nodes' stats URLs and NATSVarz, what went
	// through NATS.
	Cluster bool `json:"cluster,omitempty"`

	Conns    int           `json:"conns"`             // idle: unused; see IdleAt
	IdleAt   []int         `json:"idle_at"`           // idle: the two connection counts
	Msgs     int           `json:"msgs"`              // broadcast: messages to publish
	Size     int           `json:"size"`              // bytes per message, >= StampLen
	Mode     string        `json:"mode"`              // broadcast: burst or steady
	Rate     float64       `json:"rate"`              // msgs/s: broadcast steady (total), rooms (per member)
	Rooms    int           `json:"rooms"`             // rooms: number of rooms
	Members  int           `json:"members"`           // rooms: members per room
	Duration time.Duration `json:"duration"`          // rooms, echo: how long to send
	Drain    time.Duration `json:"drain"`             // wait for stragglers after sending ends
	Settle   time.Duration `json:"settle"`            // idle: wait before measuring memory
	Restart  string        `json:"restart,omitempty"` // connect: shell command that restarts the server

	// Compression offers permessage-deflate (RFC 7692) as Chromium does:
	// compressed messages are inflated, and messages are sent compressed
	// on every connection that negotiated it.
	Compression bool   `json:"compression,omitempty"`
	Payload     string `json:"payload"`          // PayloadBinary or PayloadJSON
	Target      string `json:"target,omitempty"` // inflate: the route messages go to (DefaultSink)

	Sources     []netip.Addr `json:"sources"`      // local addresses to dial from, in rotation
	DialRate    int          `json:"dial_rate"`    // connections per second, all processes together
	DialWorkers int          `json:"dial_workers"` // concurrent dials per process
	Loops       int          `json:"loops"`        // client event loops per process

	ServerPID int    `json:"server_pid,omitempty"` // the server, or the first node
	StatsURL  string `json:"stats_url,omitempty"`  // the server's, or the first node's
	// With several nodes: a PID and a stats URL per node, in Addr's order
	// (ServerPID and StatsURL are then the first node's).
	NodePIDs  []int    `json:"node_pids,omitempty"`
	NodeStats []string `json:"node_stats,omitempty"`
	NATSVarz  string   `json:"nats_varz,omitempty"` // cluster: the NATS server's monitoring /varz
	NATSPID   int      `json:"nats_pid,omitempty"`  // cluster: the NATS server process
	Procs     int      `json:"procs"`               // worker processes; 1 = all in this process

	// WorkerCommand starts one worker process (default: this executable
	// with -worker). Tests point it at the test binary.
	WorkerCommand []string `json:"-"`
	// WorkerEnv is added to the worker processes' environment.
	WorkerEnv []string `json:"-"`
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	setDefault(&c.Conns, 1000)
	if len(c.IdleAt) == 0 {
		c.IdleAt = []int{4000, 16000}
	}
	if c.Scenario == ScenarioInflate {
		setDefault(&c.Msgs, 20)
		setDefault(&c.Size, 64<<10)
		if c.Payload == "" {
			c.Payload = PayloadJSON
		}
		if c.Target == "" {
			c.Target = DefaultSink
		}
	}
	setDefault(&c.Msgs, 100)
	setDefault(&c.Size, 64)
	if c.Payload == "" {
		c.Payload = PayloadBinary
	}
	if c.Mode == "" {
		c.Mode = ModeBurst
	}
	if c.Rate == 0 {
		c.Rate = 10
	}
	setDefault(&c.Rooms, 10)
	setDefault(&c.Members, 10)
	setDefault(&c.Duration, 10*time.Second)
	setDefault(&c.Drain, 10*time.Second)
	setDefault(&c.Settle, 1500*time.Millisecond)
	if len(c.Sources) == 0 {
		c.Sources = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	}
	setDefault(&c.DialRate, 3000)
	setDefault(&c.DialWorkers, 8)
	setDefault(&c.Loops, runtime.GOMAXPROCS(0))
	setDefault(&c.Procs, 1)
	return c
}

func setDefault[T int | time.Duration](p *T, v T) {
	if *p <= 0 {
		*p = v
	}
}

// check validates a defaulted config.
func (c *Config) check() error {
	if err := c.checkNodes(); err != nil {
		return err
	}
	switch c.Payload {
	case PayloadBinary:
		if c.Size < StampLen {
			return configErr("-size %d is below the %d-byte message header", c.Size, StampLen)
		}
	case PayloadJSON:
		if c.Size < minJSONSize {
			return configErr("-size %d is below the %d bytes of the smallest JSON message", c.Size, minJSONSize)
		}
	default:
		return configErr("-payload %q: want binary or json", c.Payload)
	}
	if c.Size > maxClientMessage {
		return configErr("-size %d is over the %d-byte message cap", c.Size, maxClientMessage)
	}
	if c.Rate <= 0 || math.IsInf(c.Rate, 0) || math.IsNaN(c.Rate) {
		return configErr("-rate must be a positive number")
	}
	if err := c.checkScenario(); err != nil {
		return err
	}
	if err := c.checkPerProc(); err != nil {
		return err
	}
	if len(c.nodes()) == 1 {
		if per := c.totalConns() / len(c.Sources); per > maxConnsPerSource {
			return configErr("%d connections from %d source address(es) is %d each, over the ~%d ephemeral ports of one; add -sources (e.g. 127.0.0.1-127.0.0.%d)",
				c.totalConns(), len(c.Sources), per, maxConnsPerSource, c.totalConns()/maxConnsPerSource+1)
		}
	} else if per := c.perSourceAndNode(); per > maxConnsPerSource {
		return configErr("%d connections from one source address to one node, over the ~%d ephemeral ports of one; add -sources (e.g. 127.0.0.1-127.0.0.%d)",
			per, maxConnsPerSource, per/maxConnsPerSource+1)
	}
	return nil
}

// checkNodes validates the node addresses and the per-node PIDs and stats
// URLs.
func (c *Config) checkNodes() error {
	nodes := c.nodes()
	if len(nodes) == 0 {
		return configErr("no server address (-addr)")
	}
	for _, n := range nodes {
		if _, _, err := net.SplitHostPort(n); err != nil {
			return configErr("server address %q: %v", n, err)
		}
	}
	if len(nodes) > 1 && c.Scenario != ScenarioBroadcast && c.Scenario != ScenarioRooms && c.Scenario != ScenarioEcho {
		return configErr("-addr with %d nodes: only broadcast, rooms and echo spread over nodes, not %s", len(nodes), c.Scenario)
	}
	if len(c.NodePIDs) > 0 && len(c.NodePIDs) != len(nodes) {
		return configErr("-server-pid has %d PIDs for %d nodes: give one per node", len(c.NodePIDs), len(nodes))
	}
	if len(c.NodeStats) > 0 && len(c.NodeStats) != len(nodes) {
		return configErr("-stats-url has %d URLs for %d nodes: give one per node", len(c.NodeStats), len(nodes))
	}
	return nil
}

func (c *Config) checkScenario() error {
	switch c.Scenario {
	case ScenarioIdle:
		if len(c.IdleAt) != 2 || c.IdleAt[0] <= 0 || c.IdleAt[1] <= c.IdleAt[0] {
			return configErr("-idle-at needs two counts, the second larger: %v", c.IdleAt)
		}
	case ScenarioBroadcast:
		if c.Mode != ModeBurst && c.Mode != ModeSteady {
			return configErr("-mode %q: want burst or steady", c.Mode)
		}
	case ScenarioRooms:
		if c.quota() < 1 {
			return configErr("-duration %v at -rate %g sends no message", c.Duration, c.Rate)
		}
	case ScenarioInflate:
		if !c.Compression {
			return configErr("-scenario inflate sends compressed messages: add -compression")
		}
		if !strings.HasPrefix(c.Target, "/") {
			return configErr("-target %q: want a path", c.Target)
		}
	case ScenarioEcho, ScenarioConnect:
	default:
		return configErr("-scenario %q: want idle, broadcast, rooms, echo, connect or inflate", c.Scenario)
	}
	return nil
}

// checkPerProc refuses more connections per process than the file limit
// allows.
func (c *Config) checkPerProc() error {
	n := c.totalConns()
	per := (n + c.Procs - 1) / c.Procs
	if per > MaxConnsPerProc {
		need := (n + MaxConnsPerProc - 1) / MaxConnsPerProc
		return fmt.Errorf("%w: %d connections in %d process(es) is %d per process, over %d (the open-file limit is 20,000); use -procs %d or more",
			ErrTooManyConns, n, c.Procs, per, MaxConnsPerProc, need)
	}
	return nil
}

// totalConns is the largest number of connections open at once.
func (c *Config) totalConns() int {
	switch c.Scenario {
	case ScenarioIdle:
		return c.IdleAt[len(c.IdleAt)-1]
	case ScenarioRooms:
		return c.Rooms * c.Members
	}
	return c.Conns
}

// quota is how many messages each rooms member sends.
func (c *Config) quota() int { return int(math.Round(c.Duration.Seconds() * c.Rate)) }

// interval is the time between two messages of one publisher.
func (c *Config) interval() time.Duration { return time.Duration(float64(time.Second) / c.Rate) }

// target is the request target of connection i.
func (c *Config) target(i int) string {
	switch c.Scenario {
	case ScenarioEcho:
		return "/echo"
	case ScenarioInflate:
		return c.Target
	case ScenarioRooms:
		return "/ws?room=room-" + strconv.Itoa(i%c.Rooms)
	case ScenarioBroadcast:
		return "/ws?room=bench"
	}
	return "/ws?room=" + c.Scenario
}

// source is the local address connection i dials from: the sources in
// rotation among the connections of each node (node i%n for most
// scenarios), so that every node gets connections from every source.
func (c *Config) source(i, nodes int) netip.Addr { return c.Sources[i/nodes%len(c.Sources)] }

// nodes is the node addresses: Addr split at its commas.
func (c *Config) nodes() []string { return SplitList(c.Addr) }

// cluster reports whether the run is on the nodes of a cluster.
func (c *Config) cluster() bool { return c.Cluster || len(c.nodes()) > 1 }

// node is the index of the node connection i dials, of n. The broadcast
// publisher (connection 0) is on the first node; the connections are
// spread in rotation, so that a contiguous range of them (one process's
// share) is spread evenly too. A rooms member is in room i%Rooms, as the
// member i/Rooms of it; a room's members go round-robin over the nodes,
// starting at the room's own offset, so that every room with at least n
// members spans every node and the nodes hold equal shares.
func (c *Config) node(i, n int) int {
	if c.Scenario == ScenarioRooms {
		return (i/c.Rooms + i%c.Rooms) % n
	}
	return i % n
}

// sourceWarning says when the nodes together take more connections from
// one source address than it has ephemeral ports: connect(2) then shares
// ports between destinations, but searches longer and longer for one (57k
// dials from one address to 3 nodes took 75 s instead of 10).
func (c *Config) sourceWarning() string {
	n := c.totalConns()
	if len(c.nodes()) == 1 || n/len(c.Sources) <= maxConnsPerSource {
		return ""
	}
	return fmt.Sprintf("%d connections from %d source address(es) is over the ~%d ephemeral ports of one: dialling slows down; add -sources (e.g. 127.0.0.1-127.0.0.%d)",
		n, len(c.Sources), maxConnsPerSource, n/maxConnsPerSource+1)
}

// perSourceAndNode is the most connections from one source address to one
// node: what each needs of the source's ephemeral ports.
func (c *Config) perSourceAndNode() int {
	n := len(c.nodes())
	counts := make([]int, len(c.Sources)*n)
	most := 0
	for i := range c.totalConns() {
		k := i/n%len(c.Sources)*n + c.node(i, n)
		counts[k]++
		most = max(most, counts[k])
	}
	return most
}

// ParseSources parses a comma-separated list of IPv4 addresses and ranges
// ("127.0.0.1,127.0.0.2" or "127.0.0.1-127.0.0.8").
func ParseSources(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := netip.ParseAddr(lo)
		if err != nil {
			return nil, configErr("-sources: %v", err)
		}
		b := a
		if isRange {
			if b, err = netip.ParseAddr(hi); err != nil {
				return nil, configErr("-sources: %v", err)
			}
		}
		if b.Less(a) || a.Is4() != b.Is4() {
			return nil, configErr("-sources: bad range %q", part)
		}
		for ; !b.Less(a); a = a.Next() {
			out = append(out, a)
			if len(out) > 1024 {
				return nil, configErr("-sources: more than 1024 addresses")
			}
		}
	}
	if len(out) == 0 {
		return nil, configErr("-sources: no address")
	}
	return out, nil
}

// ParsePIDs parses "1234" or "1234,1235,1236"; "" is none.
func ParsePIDs(s string) ([]int, error) {
	var out []int
	for _, part := range SplitList(s) {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return nil, configErr("bad PID %q", part)
		}
		out = append(out, n)
	}
	return out, nil
}

// SplitList splits a comma-separated list and drops empty items.
func SplitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// ParseCounts parses "4000,16000".
func ParseCounts(s string) ([]int, error) {
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return nil, configErr("bad count %q", part)
		}
		out = append(out, n)
	}
	return out, nil
}
