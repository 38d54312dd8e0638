package engine

import (
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/wshub/wshub/hub"
)

// tickEvery is how often each loop sweeps its deadlines.
const tickEvery = 250 * time.Millisecond

// events is the gnet event handler. Every method but OnBoot, OnShutdown and
// OnTick runs on an event loop.
type events struct {
	gnet.BuiltinEventEngine
	s *Server
}

func (e *events) OnBoot(eng gnet.Engine) gnet.Action {
	e.s.boot(eng)
	return gnet.None
}

func (e *events) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	s := e.s
	c := &Conn{srv: s, remote: gc.RemoteAddr()}
	c.SetSocket(gc)
	c.dec.MaxMessage = s.opts.MaxMessage
	gc.SetContext(c)
	s.timeout(c, s.opts.HandshakeTimeout)
	return nil, gnet.None
}

func (e *events) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*Conn)
	if !ok {
		return gnet.Close
	}
	return c.srv.traffic(c)
}

func (e *events) OnClose(gc gnet.Conn, err error) gnet.Action {
	if c, ok := gc.Context().(*Conn); ok {
		c.srv.closed(c, err)
	}
	return gnet.None
}

// OnTick runs on gnet's ticker goroutine: it asks every loop to sweep its
// deadlines. The sweep is a hub op, so it also ends in a flush, which gives
// frames held for congested connections (hub.PolicyDropOldest) their chance.
func (e *events) OnTick() (time.Duration, gnet.Action) {
	for _, sh := range e.s.hub.Shards() {
		_ = sh.Do(func() { e.s.sweep(sh) })
	}
	return tickEvery, gnet.None
}

// loopState is the engine's per-loop state, kept in hub.Shard.Local.
type loopState struct {
	timed map[*Conn]struct{} // connections with a deadline
}

func (s *Server) loopOf(c *Conn) *loopState {
	sh := s.hub.ShardFor(c.Socket().EventLoop())
	ls, _ := sh.Local.(*loopState)
	if ls == nil {
		ls = &loopState{timed: make(map[*Conn]struct{})}
		sh.Local = ls
	}
	return ls
}

// timeout gives c a deadline d from now. Event loop only.
func (s *Server) timeout(c *Conn, d time.Duration) {
	c.deadline = time.Now().Add(d).UnixNano()
	s.loopOf(c).timed[c] = struct{}{}
}

// untime clears c's deadline. Event loop only.
func (s *Server) untime(c *Conn) {
	if c.deadline != 0 {
		c.deadline = 0
		delete(s.loopOf(c).timed, c)
	}
}

// sweep closes the connections of one loop whose deadline passed.
func (s *Server) sweep(sh *hub.Shard) {
	ls, _ := sh.Local.(*loopState)
	if ls == nil {
		return
	}
	now := time.Now().UnixNano()
	for c := range ls.timed {
		if now > c.deadline {
			s.expire(c)
		}
	}
}

// expire ends a connection whose deadline passed. Event loop only.
func (s *Server) expire(c *Conn) {
	s.untime(c)
	switch c.state {
	case stateHandshake:
		s.log.Info("handshake timeout", "remote", c.remote)
	case stateClosing:
		s.log.Info("close timeout", "id", c.ID(), "remote", c.remote)
	}
	_ = c.Socket().EventLoop().Close(c.Socket())
}

// closed runs on gnet's OnClose.
func (s *Server) closed(c *Conn, err error) {
	s.untime(c)
	c.dec.Reset()
	prev := c.state
	c.state = stateClosed
	if prev == stateHandshake || c.handler == nil { // never upgraded
		return
	}
	s.hub.Detach(c)
	why := c.why
	switch {
	case prev == stateClosing:
		why = &CloseError{Code: ws.StatusAbnormalClosure, Reason: "no close frame from the peer after " + why.Reason}
	case why == nil:
		// The peer dropped TCP without a closing handshake.
		reason := "connection lost"
		if err != nil {
			reason = err.Error()
		}
		why = &CloseError{Code: ws.StatusAbnormalClosure, Reason: reason, Remote: true}
	}
	s.log.Info("disconnect", "id", c.ID(), "remote", c.remote, "code", int(why.Code), "reason", why.Reason)
	s.onDisconnect(c, why)
}
