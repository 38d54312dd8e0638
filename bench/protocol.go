package bench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
)

// Agent operations: the steps of a run, each a request answered by one
// response. Through a worker's stdin and stdout they are JSON lines:
// connect → ready, warmup → warm, go → going, results → results,
// reconnect → reconnected, close → closed.
const (
	opInit      = "init"
	opConnect   = "connect"
	opWarmup    = "warmup"
	opGo        = "go"
	opResults   = "results"
	opReconnect = "reconnect"
	opClose     = "close"
)

// request is one step, from the driver to an agent.
type request struct {
	Op       string  `json:"op"`
	Config   *Config `json:"config,omitempty"`   // init
	First    int     `json:"first,omitempty"`    // connect: first global index
	Count    int     `json:"count,omitempty"`    // connect: how many
	At       int64   `json:"at,omitempty"`       // go: Unix ns when sending starts
	Deadline int64   `json:"deadline,omitempty"` // warmup, results, reconnect: give up at (Unix ns)
}

// response answers a request. CPU is always set.
type response struct {
	Event string  `json:"event"`
	Error string  `json:"error,omitempty"`
	CPU   float64 `json:"cpu"` // the agent process's CPU seconds so far

	// ready
	Connected int            `json:"connected,omitempty"`
	Failed    int            `json:"failed,omitempty"`
	Errors    map[string]int `json:"errors,omitempty"`
	Handshake *Histogram     `json:"handshake,omitempty"`
	// Negotiated counts the connections that got permessage-deflate;
	// Answer is the server's first Sec-WebSocket-Extensions for it.
	Negotiated int    `json:"negotiated,omitempty"`
	Answer     string `json:"answer,omitempty"`
	// warm
	Missing int `json:"missing,omitempty"`
	// results
	Sent      int64       `json:"sent,omitempty"`
	Expected  int64       `json:"expected,omitempty"`
	Delivered int64       `json:"delivered,omitempty"`
	First     int64       `json:"first,omitempty"` // Unix ns of the first measured send
	Last      int64       `json:"last,omitempty"`  // Unix ns of the last measured delivery
	Latency   *Histogram  `json:"latency,omitempty"`
	Open      int64       `json:"open,omitempty"`
	Dropped   int64       `json:"dropped,omitempty"`
	Bad       int64       `json:"bad,omitempty"`
	BadWhy    string      `json:"bad_why,omitempty"` // the first malformed message's error
	Z         *ZTraffic   `json:"z,omitempty"`       // with Config.Compression
	Nodes     []nodeShare `json:"nodes,omitempty"`   // cluster runs: the same, per node
	// reconnected
	Reopened  int   `json:"reopened,omitempty"`
	LastOpen  int64 `json:"last_open,omitempty"`
	FirstDrop int64 `json:"first_drop,omitempty"`
	Redials   int64 `json:"redials,omitempty"`
}

// nodeShare is what one agent saw of the connections to one node.
type nodeShare struct {
	Conns     int        `json:"conns"`
	Sent      int64      `json:"sent,omitempty"`
	Expected  int64      `json:"expected,omitempty"`
	Delivered int64      `json:"delivered,omitempty"`
	Last      int64      `json:"last,omitempty"` // Unix ns of the last measured delivery
	Latency   *Histogram `json:"latency,omitempty"`
}

// worker is an agent in a child process: this executable re-run with
// -worker (Config.WorkerCommand), speaking JSON lines.
type worker struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	enc   *json.Encoder
	dec   *json.Decoder
}

func startWorker(cfg Config) (*worker, error) {
	argv := cfg.WorkerCommand
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		argv = []string{exe, "-worker"}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), cfg.WorkerEnv...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err = cmd.Start(); err != nil {
		return nil, err
	}
	w := &worker{cmd: cmd, stdin: stdin, enc: json.NewEncoder(stdin), dec: json.NewDecoder(bufio.NewReader(stdout))}
	if _, err = w.call(request{Op: opInit, Config: &cfg}); err != nil {
		_ = w.stop()
		return nil, err
	}
	return w, nil
}

func (w *worker) call(req request) (response, error) {
	if err := w.enc.Encode(req); err != nil {
		return response{}, fmt.Errorf("bench: worker %d: %w", w.cmd.Process.Pid, err)
	}
	var r response
	if err := w.dec.Decode(&r); err != nil {
		return response{}, fmt.Errorf("bench: worker %d: %w", w.cmd.Process.Pid, err)
	}
	return checked(r)
}

// stop asks the worker to close, then waits for it to exit.
func (w *worker) stop() error {
	_, err := w.call(request{Op: opClose})
	_ = w.stdin.Close()
	return errors.Join(err, w.cmd.Wait())
}

// ServeWorker runs an agent for a parent wsbench: requests are JSON lines
// on in, responses JSON lines on out. The first request is init with the
// Config; it ends after close, or when in ends.
func ServeWorker(in io.Reader, out io.Writer) error {
	dec := json.NewDecoder(bufio.NewReader(in))
	enc := json.NewEncoder(out)
	var req request
	if err := dec.Decode(&req); err != nil {
		return err
	}
	if req.Op != opInit || req.Config == nil {
		return fmt.Errorf("bench: worker: first request is %q, want init", req.Op)
	}
	a, err := newAgent(*req.Config)
	if err != nil {
		_ = enc.Encode(response{Event: "error", Error: err.Error()})
		return err
	}
	if err = enc.Encode(response{Event: "inited"}); err != nil {
		_ = a.close()
		return err
	}
	for {
		req = request{}
		if err := dec.Decode(&req); err != nil {
			_ = a.close()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := enc.Encode(a.handle(req)); err != nil {
			_ = a.close()
			return err
		}
		if req.Op == opClose {
			return nil
		}
	}
}
