package bench

import (
	"errors"
	"fmt"
	"sync"
)

// caller carries requests to one agent: in this process, or in a worker
// process over its stdin and stdout.
type caller interface {
	call(req request) (response, error)
	stop() error
}

// fleet is the run's agents: one in this process, or cfg.Procs workers.
type fleet struct {
	agents []caller
	remote bool // agents are worker processes
}

func newFleet(cfg Config) (*fleet, error) {
	if cfg.Procs <= 1 {
		a, err := newAgent(cfg)
		if err != nil {
			return nil, err
		}
		return &fleet{agents: []caller{localAgent{a}}}, nil
	}
	f := &fleet{remote: true}
	for i := range cfg.Procs {
		w, err := startWorker(cfg)
		if err != nil {
			f.stop()
			return nil, fmt.Errorf("bench: worker %d: %w", i, err)
		}
		f.agents = append(f.agents, w)
	}
	return f, nil
}

// all sends each agent its request, in parallel, and returns the
// responses in agent order; the first error wins.
func (f *fleet) all(reqFor func(i int) request) ([]response, error) {
	out := make([]response, len(f.agents))
	errs := make([]error, len(f.agents))
	var wg sync.WaitGroup
	for i, a := range f.agents {
		wg.Go(func() { out[i], errs[i] = a.call(reqFor(i)) })
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// same sends every agent the same request.
func (f *fleet) same(req request) ([]response, error) {
	return f.all(func(int) request { return req })
}

// connect opens connections first … first+count-1, split into contiguous
// ranges, one per agent; agent 0 holds the lowest indexes (the broadcast
// publisher).
func (f *fleet) connect(first, count int) ([]response, error) {
	return f.all(func(i int) request {
		lo, hi := share(first, count, len(f.agents), i)
		return request{Op: opConnect, First: lo, Count: hi - lo}
	})
}

// share is agent i's range [lo, hi) of first … first+count-1, of k agents.
func share(first, count, k, i int) (lo, hi int) {
	return first + count*i/k, first + count*(i+1)/k
}

// stop closes every agent and its connections.
func (f *fleet) stop() {
	for _, a := range f.agents {
		_ = a.stop()
	}
}

// localAgent is an agent in this process.
type localAgent struct{ a *agent }

func (l localAgent) call(req request) (response, error) { return checked(l.a.handle(req)) }
func (l localAgent) stop() error                        { return l.a.close() }

func checked(r response) (response, error) {
	if r.Error != "" {
		return r, errors.New(r.Error)
	}
	return r, nil
}
