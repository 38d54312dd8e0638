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
	node   int        // index of the node it dials (Config.node)
	addr   string     // and that node's address
	pub    bool       // publishes in the measured phase
	warmer bool       // sends the warm-up message
	offset int64      // ns after the start when its first message is due

	// Set by the dialer before the socket is enrolled.
	deflate *deflateParams // permessage-deflate negotiated; nil = none

	// Owned by the event loop of the current socket.
	gc      gnet.Conn
	loop    *loop
	dec     codec.Decoder
	z       *zreader // decodes instead of dec when deflate is negotiated
	pending []byte   // bytes read after the 101 head, decoded in OnOpen
	warmed  bool
	// inflate: the message whose pong is awaited, the stamp of its ping,
	// and when that ping was last sent (0: none awaited).
	probeSeq  uint64
	probeSent int64
	probeAt   int64

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

	byNode  []nodeCounters // one per node (Config.nodes)
	rng     *rand.Rand
	pay     *payloads
	inf     inflater
	zs      ZTraffic // compressed traffic, and the inflate scenario's echoes
	msg     []byte   // message being built
	out     []byte   // frames not yet written
	outPeer *peer    // the peer out is for
	peers   []*peer  // every peer first opened on this loop
	sched   schedule
	echoEnd int64 // echo: no new message at or after this time (Unix ns)
	sendDue gnet.RunnableFunc
	reping  gnet.RunnableFunc // inflate: re-send the pings whose pongs are overdue

	warm      atomic.Int64           // peers that received their warm-up message
	first     atomic.Int64           // Unix ns of the first measured send, 0 = none
	open      atomic.Int64           // open sockets
	dropped   atomic.Int64           // sockets closed by the server or by an error
	bad       atomic.Int64           // malformed messages and protocol errors
	badWhy    atomic.Pointer[string] // the first of them
	lastOpen  atomic.Int64           // Unix ns of the last OnOpen
	firstDrop atomic.Int64           // Unix ns of the first drop, 0 = none
	nextDue   atomic.Int64           // Unix ns when sendDue has work; noneDue = none
	queued    atomic.Bool            // a sendDue is queued on the loop
}

// nodeCounters is what a loop measured of the connections to one node.
// The histogram belongs to the loop's goroutine; the atomics are updated
// once per OnTraffic batch (sent: per message) and polled by the agent.
type nodeCounters struct {
	hist      Histogram
	delivered atomic.Int64 // measured messages received
	sent      atomic.Int64 // measured messages sent
	last      atomic.Int64 // Unix ns of the last measured delivery
}

// noneDue marks a loop with nothing scheduled.
const noneDue = int64(1<<63 - 1)

func newLoop(a *agent, el gnet.EventLoop) *loop {
	l := &loop{a: a, el: el, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	l.byNode = make([]nodeCounters, len(a.nodes))
	l.pay = newPayloads(a.cfg.Payload, a.cfg.Size)
	l.nextDue.Store(noneDue)
	l.sendDue = func(context.Context) error { l.runSchedule(); return nil }
	l.reping = func(context.Context) error { l.repingOverdue(time.Now().UnixNano()); return nil }
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
	p.z = nil
	if p.deflate != nil {
		sc := h.a.cfg.Scenario
		p.z = &zreader{params: *p.deflate, discard: sc == ScenarioInflate, share: sc == ScenarioBroadcast || sc == ScenarioRooms}
	}
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
	p.z = nil
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
		m, k, err := l.decode(p, b[n:])
		n += k
		if err != nil {
			l.malformed(err)
			return n, gnet.Close
		}
		switch m.OpCode {
		case 0:
			l.publish(p, got, now)
			return n, gnet.None
		case ws.OpBinary, ws.OpText:
			if l.a.cfg.Scenario == ScenarioInflate {
				l.zs.Echoes++ // the route echoes: read and dropped
				continue
			}
			got += l.data(p, m.Payload, now)
		case ws.OpPing:
			l.control(p, ws.OpPong, m.Payload)
		case ws.OpPong:
			got += l.pong(p, m.Payload, now)
		case ws.OpClose:
			l.publish(p, got, now)
			l.control(p, ws.OpClose, closeBody(m))
			return n, gnet.Close
		}
	}
}

// decode decodes with p's zreader when it negotiated permessage-deflate,
// else with its codec.Decoder, and counts what was compressed.
func (l *loop) decode(p *peer, b []byte) (codec.Message, int, error) {
	if p.z == nil {
		return p.dec.Decode(b)
	}
	m, n, err := p.z.decode(b, &l.inf)
	if err == nil && (m.OpCode == ws.OpText || m.OpCode == ws.OpBinary) {
		l.zs.count(&m)
	}
	return m.Message, n, err
}

// publish makes a batch of p's deliveries visible to the agent.
func (l *loop) publish(p *peer, got, now int64) {
	if got > 0 {
		n := &l.byNode[p.node]
		n.delivered.Add(got)
		n.last.Store(now)
	}
}

// delivered is the measured messages the loop received, all nodes.
func (l *loop) delivered() int64 {
	var sum int64
	for i := range l.byNode {
		sum += l.byNode[i].delivered.Load()
	}
	return sum
}

// sent is the measured messages the loop sent, all nodes.
func (l *loop) sent() int64 {
	var sum int64
	for i := range l.byNode {
		sum += l.byNode[i].sent.Load()
	}
	return sum
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
	st, err := l.pay.readStamp(payload)
	if err != nil {
		l.malformed(err)
		return 0
	}
	if st.Seq == 0 {
		l.warmedUp(p)
		return 0
	}
	l.byNode[p.node].hist.Record(now - st.Sent)
	if l.echoEnd != 0 && now < l.echoEnd {
		l.send(p, st.Seq+1)
		l.flush()
	}
	return 1
}

// warmedUp counts p's first warm-up message, once.
func (l *loop) warmedUp(p *peer) {
	if !p.warmed {
		p.warmed = true
		l.warm.Add(1)
	}
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

// pong handles a pong: in the inflate scenario, the answer to the ping
// that followed message seq, which the server has therefore read. It
// reports whether it was a measured delivery, and sends the next message.
// The pong of a ping sent again (repingOverdue) is dropped.
func (l *loop) pong(p *peer, payload []byte, now int64) int64 {
	if l.a.cfg.Scenario != ScenarioInflate {
		return 0
	}
	st, err := ReadStamp(payload)
	if err != nil || len(payload) != StampLen || st.Publisher != p.id {
		l.malformed(errBadPong)
		return 0
	}
	if p.probeAt == 0 || st.Seq != p.probeSeq {
		return 0 // answered already
	}
	p.probeAt = 0
	if st.Seq == 0 {
		l.warmedUp(p)
		return 0
	}
	l.byNode[p.node].hist.Record(now - st.Sent)
	if st.Seq < uint64(l.a.cfg.Msgs) {
		l.probe(p, st.Seq+1)
	}
	return 1
}

// probe sends message seq of p and a ping stamped like it, whose pong
// says that the server has read the message; it writes both at once.
func (l *loop) probe(p *peer, seq uint64) {
	if !l.send(p, seq) {
		return
	}
	p.probeSeq, p.probeSent = seq, time.Now().UnixNano()
	l.ping(p)
	l.flush()
}

// ping appends p's probe ping to l.out, which holds p's frames or none.
func (l *loop) ping(p *peer) {
	var b [StampLen]byte
	Stamp{Sent: p.probeSent, Seq: p.probeSeq, Publisher: p.id}.Put(b[:])
	l.out = codec.AppendFrame(l.out, ws.Header{Fin: true, OpCode: ws.OpPing, Masked: true, Mask: l.mask()}, b[:])
	l.outPeer = p
	p.probeAt = time.Now().UnixNano()
}

// repingAfter is how long a probe's pong may take before its ping is
// sent again: a server may drop a pong it cannot write in time (gorilla's
// default ping handler gives up after 1 s), which would stall the
// connection for good.
const repingAfter = time.Second

// repingOverdue sends again, with the same stamp, every probe ping of the
// loop whose pong is overdue at now. Loop only.
func (l *loop) repingOverdue(now int64) {
	for _, p := range l.peers {
		if p.loop != l || !p.isOpen() || p.probeAt == 0 || now-p.probeAt < int64(repingAfter) {
			continue
		}
		l.flush()
		l.ping(p)
		l.flush()
		l.zs.Repings++
	}
}

// send encodes message seq of p, stamped now, into l.out, compressed if p
// negotiated permessage-deflate; flush writes it. Consecutive messages of
// one peer leave in one write. It reports whether p was open on l.
func (l *loop) send(p *peer, seq uint64) bool {
	if !p.isOpen() || p.loop != l {
		return false
	}
	if l.outPeer != p || len(l.out) >= 32<<10 {
		l.flush()
	}
	now := time.Now().UnixNano()
	st := Stamp{Sent: now, Seq: seq, Publisher: p.id}
	h := ws.Header{Fin: true, OpCode: l.pay.opCode(), Masked: true, Mask: l.mask()}
	if p.z != nil {
		var err error
		if l.msg, err = l.pay.appendCompressed(l.msg[:0], st, p.z.params.clientBits); err != nil {
			l.malformed(err)
			return false
		}
		h.Rsv = rsv1
		l.zs.Sent++
		l.zs.SentRaw += int64(l.pay.size)
		l.zs.SentWire += int64(len(l.msg))
	} else {
		l.msg = l.pay.appendPlain(l.msg[:0], st)
	}
	l.out = codec.AppendFrame(l.out, h, l.msg)
	l.outPeer = p
	if seq != 0 {
		l.byNode[p.node].sent.Add(1)
		l.first.CompareAndSwap(0, now)
	}
	return true
}

// flush writes l.out to its peer. gnet copies what the socket does not
// take, so l.out is reused at once.
func (l *loop) flush() {
	if len(l.out) > 0 && l.outPeer != nil && l.outPeer.isOpen() {
		_, _ = l.outPeer.gc.Write(l.out)
	}
	l.out, l.outPeer = l.out[:0], nil
}
