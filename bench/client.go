package bench

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/wshub/wshub/codec"
)

// Peer states.
const (
	peerNew int32 = iota
	peerOpen
	peerClosed
)

// maxClientMessage caps what the client accepts from a server.
const maxClientMessage = 1 << 20

// peer is one client connection. Its identity and role are fixed when it is
// created; its socket may change when it redials (connect scenario).
type peer struct {
	id     uint32     // global index, the Publisher in its stamps
	target string     // request target, "/ws?room=bench"
	src    netip.Addr // local address to dial from
	pub    bool       // publishes in the measured phase
	warmer bool       // sends the warm-up message
	offset int64      // ns after the start when its first message is due

	// Owned by the event loop of the current socket.
	gc      gnet.Conn
	loop    *loop
	dec     codec.Decoder
	pending []byte // bytes read after the 101 head, decoded in OnOpen
	warmed  bool

	// Safe from any goroutine.
	state atomic.Int32 // peerNew, peerOpen, peerClosed
	opens atomic.Int32 // how many times a socket was opened

	// Owned by the dialer.
	backoff time.Duration
}

func (p *peer) isOpen() bool { return p.state.Load() == peerOpen }

// loop is the client's state for one gnet event loop. Fields above the
// atomics belong to the loop's goroutine; the agent reaches them only
// through EventLoop.Execute. The atomics are updated once per OnTraffic
// batch and polled by the agent.
type loop struct {
	el gnet.EventLoop
	a  *agent

	hist    Histogram
	rng     *rand.Rand
	payload []byte  // message being built: stamp + padding
	out     []byte  // frames not yet written
	outPeer *peer   // the peer out is for
	peers   []*peer // every peer first opened on this loop
	sched   schedule
	echoEnd int64 // echo: no new message at or after this time (Unix ns)
	sendDue gnet.RunnableFunc

	delivered atomic.Int64           // measured messages received
	sent      atomic.Int64           // measured messages sent
	warm      atomic.Int64           // peers that received their warm-up message
	first     atomic.Int64           // Unix ns of the first measured send, 0 = none
	last      atomic.Int64           // Unix ns of the last measured delivery
	open      atomic.Int64           // open sockets
	dropped   atomic.Int64           // sockets closed by the server or by an error
	bad       atomic.Int64           // malformed messages and protocol errors
	badWhy    atomic.Pointer[string] // the first of them
	lastOpen  atomic.Int64           // Unix ns of the last OnOpen
	firstDrop atomic.Int64           // Unix ns of the first drop, 0 = none
	nextDue   atomic.Int64           // Unix ns when sendDue has work; noneDue = none
	queued    atomic.Bool            // a sendDue is queued on the loop
}

// noneDue marks a loop with nothing scheduled.
const noneDue = int64(1<<63 - 1)

func newLoop(a *agent, el gnet.EventLoop) *loop {
	l := &loop{a: a, el: el, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	l.payload = make([]byte, a.cfg.Size)
	for i := StampLen; i < len(l.payload); i++ {
		l.payload[i] = 'x'
	}
	l.nextDue.Store(noneDue)
	l.sendDue = func(context.Context) error { l.runSchedule(); return nil }
	return l
}

// handler is the gnet event handler of the client. OnOpen, OnTraffic and
// OnClose run on the connection's event loop.
type handler struct {
	gnet.BuiltinEventEngine
	a *agent
}

func (h *handler) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	p := c.Context().(*peer)
	l := h.a.loopOf(c.EventLoop())
	p.gc, p.loop, p.warmed = c, l, false
	p.dec = codec.Decoder{Client: true, MaxMessage: maxClientMessage}
	if p.opens.Add(1) == 1 {
		l.peers = append(l.peers, p)
	}
	p.state.Store(peerOpen)
	l.open.Add(1)
	l.lastOpen.Store(time.Now().UnixNano())
	if len(p.pending) == 0 {
		return nil, gnet.None
	}
	return nil, l.consumePending(p)
}

// OnTraffic decodes in place from gnet's inbound buffer and discards what
// was consumed; a partial frame stays for the next read.
func (h *handler) OnTraffic(c gnet.Conn) gnet.Action {
	p := c.Context().(*peer)
	b, _ := c.Peek(-1)
	if len(p.pending) > 0 {
		// Bytes from the handshake read come first: queue the new ones
		// behind them until the backlog is decoded.
		p.pending = append(p.pending, b...)
		_, _ = c.Discard(len(b))
		return p.loop.consumePending(p)
	}
	n, act := p.loop.consume(p, b)
	if n > 0 { // Discard(0) would drop everything
		_, _ = c.Discard(n)
	}
	return act
}

// consumePending decodes p.pending and keeps what is left of it.
func (l *loop) consumePending(p *peer) gnet.Action {
	n, act := l.consume(p, p.pending)
	p.pending = p.pending[n:]
	if len(p.pending) == 0 {
		p.pending = nil
	}
	return act
}

func (h *handler) OnClose(c gnet.Conn, _ error) gnet.Action {
	p, ok := c.Context().(*peer)
	if !ok || p.loop == nil {
		return gnet.None
	}
	l := p.loop
	p.state.Store(peerClosed)
	p.dec.Reset()
	l.open.Add(-1)
	if h.a.stopping.Load() {
		return gnet.None
	}
	now := time.Now().UnixNano()
	l.dropped.Add(1)
	l.firstDrop.CompareAndSwap(0, now)
	if h.a.cfg.Restart != "" {
		h.a.dial.retry(p)
	}
	return gnet.None
}

// consume decodes the frames at the start of b and returns the bytes used.
// All messages of one batch share one receive time.
func (l *loop) consume(p *peer, b []byte) (int, gnet.Action) {
	now := time.Now().UnixNano()
	var n int
	var got int64
	for {
		m, k, err := p.dec.Decode(b[n:])
		n += k
		if err != nil {
			l.malformed(err)
			return n, gnet.Close
		}
		switch m.OpCode {
		case 0:
			l.publish(got, now)
			return n, gnet.None
		case ws.OpBinary, ws.OpText:
			got += l.data(p, m.Payload, now)
		case ws.OpPing:
			l.control(p, ws.OpPong, m.Payload)
		case ws.OpClose:
			l.publish(got, now)
			l.control(p, ws.OpClose, closeBody(m))
			return n, gnet.Close
		}
	}
}

// publish makes a batch of deliveries visible to the agent.
func (l *loop) publish(got, now int64) {
	if got > 0 {
		l.delivered.Add(got)
		l.last.Store(now)
	}
}

// malformed counts a protocol error or unreadable message and keeps the
// first reason.
func (l *loop) malformed(err error) {
	l.bad.Add(1)
	why := err.Error()
	l.badWhy.CompareAndSwap(nil, &why)
}

// closeBody echoes the server's close code (RFC 6455 §5.5.1).
func closeBody(m codec.Message) []byte {
	if m.CloseCode == ws.StatusNoStatusRcvd || len(m.Payload) < 2 {
		return nil
	}
	return m.Payload[:2]
}

// data handles one data message and reports whether it was a measured
// delivery.
func (l *loop) data(p *peer, payload []byte, now int64) int64 {
	st, err := ReadStamp(payload)
	if err != nil {
		l.malformed(err)
		return 0
	}
	if st.Seq == 0 {
		if !p.warmed {
			p.warmed = true
			l.warm.Add(1)
		}
		return 0
	}
	l.hist.Record(now - st.Sent)
	if l.echoEnd != 0 && now < l.echoEnd {
		l.send(p, st.Seq+1)
		l.flush()
	}
	return 1
}

// control writes a pong or close frame to p.
func (l *loop) control(p *peer, op ws.OpCode, body []byte) {
	l.flush()
	l.out = codec.AppendFrame(l.out[:0], ws.Header{Fin: true, OpCode: op, Masked: true, Mask: l.mask()}, body)
	l.outPeer = p
	l.flush()
}

func (l *loop) mask() (m [4]byte) {
	binary.LittleEndian.PutUint32(m[:], l.rng.Uint32())
	return m
}

// send encodes message seq of p, stamped now, into l.out; flush writes it.
// Consecutive messages of one peer leave in one write.
func (l *loop) send(p *peer, seq uint64) {
	if !p.isOpen() || p.loop != l {
		return
	}
	if l.outPeer != p || len(l.out) >= 32<<10 {
		l.flush()
	}
	now := time.Now().UnixNano()
	Stamp{Sent: now, Seq: seq, Publisher: p.id}.Put(l.payload)
	l.out = codec.AppendFrame(l.out, ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: l.mask()}, l.payload)
	l.outPeer = p
	if seq != 0 {
		l.sent.Add(1)
		l.first.CompareAndSwap(0, now)
	}
}

// flush writes l.out to its peer. gnet copies what the socket does not
// take, so l.out is reused at once.
func (l *loop) flush() {
	if len(l.out) > 0 && l.outPeer != nil && l.outPeer.isOpen() {
		_, _ = l.outPeer.gc.Write(l.out)
	}
	l.out, l.outPeer = l.out[:0], nil
}
