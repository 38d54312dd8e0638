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
	Addr     string `json:"addr"`  // server host:port
	Label    string `json:"label"` // server label in the results

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

	ServerPID int    `json:"server_pid,omitempty"`
	StatsURL  string `json:"stats_url,omitempty"`
	Procs     int    `json:"procs"` // worker processes; 1 = all in this process

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
	if c.Addr == "" {
		return configErr("no server address (-addr)")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return configErr("server address %q: %v", c.Addr, err)
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
	if per := c.totalConns() / len(c.Sources); per > maxConnsPerSource {
		return configErr("%d connections from %d source address(es) is %d each, over the ~%d ephemeral ports of one; add -sources (e.g. 127.0.0.1-127.0.0.%d)",
			c.totalConns(), len(c.Sources), per, maxConnsPerSource, c.totalConns()/maxConnsPerSource+1)
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

// source is the local address connection i dials from.
func (c *Config) source(i int) netip.Addr { return c.Sources[i%len(c.Sources)] }

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
