package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wshub/wshub/engine"
)

// Options configure a Node. Zero fields take the defaults.
type Options struct {
	// Prefix starts every subject (default "wshub"): nodes with the same
	// prefix on one NATS form one cluster.
	Prefix string
	// Inbox is how many messages from NATS may wait for delivery (default
	// 65,536); past it nats.go drops them (Stats.SlowDropped).
	Inbox int
	// PresenceInterval is how often the node tells the others how many
	// members its rooms have (default 1 s): Members and AllRooms lag by
	// about that, and a node that vanishes stops counting within three.
	PresenceInterval time.Duration
	// Logger gets subscription errors and drops (default: discard).
	Logger *slog.Logger
	// OnRoomMessage, if set, sees every message from another node to a
	// room, after it has been handed to this node's members: for state an
	// application keeps beside its rooms (the chat demo answers a remote
	// member's arrival with who is here). It runs on the node's one
	// delivery goroutine, so it must not block, and payload is valid only
	// during the call.
	OnRoomMessage func(room string, op engine.OpCode, payload []byte)
	// OnSubscribed, if set, is told when NATS has confirmed the node's
	// subscription to a room (a round trip after the room's first local
	// member joined): from then on, whatever another node publishes to
	// the room reaches this node's members. After NATS reconnects, it is
	// told again for every room, within a PresenceInterval. The chat demo announces its
	// members again then, so that two members who join on two nodes at
	// once still hear of each other. It runs on a goroutine of the node's
	// own (not the delivery goroutine), for one room at a time, and
	// should not block.
	OnSubscribed func(room string)
	// OnNode, if set, is told when another node is first heard from (its
	// first presence snapshot, or the first after it was forgotten: up)
	// and when it is forgotten (it left, or went unheard for three of its
	// intervals: down). A node whose process was replaced before it
	// expired (a new instance under its ID) is down then up. The chat demo drops a vanished node's members from
	// its pages. It runs on the delivery goroutine and must not block.
	OnNode func(node uint16, up bool)
}

// Stats are a node's cluster counters.
type Stats struct {
	Published   int64 // messages handed to NATS
	Received    int64 // messages from other nodes delivered here
	Dropped     int64 // messages NATS did not take (reconnect buffer full, connection closed)
	SlowDropped int64 // messages NATS dropped because this node was slow to deliver them
	Rooms       int   // rooms this node subscribes to
	Nodes       int   // other nodes heard from (presence), not yet expired
	Conflicts   int64 // presence snapshots from another node with this node's ID
	Connected   bool  // the NATS connection is up
}

// Node is one server in a cluster.
type Node struct {
	srv    *engine.Server
	nc     *nats.Conn
	log    *slog.Logger
	prefix string
	id     uint16

	in       chan *nats.Msg
	all      *nats.Subscription
	self     *nats.Subscription
	presence *nats.Subscription
	interval time.Duration

	// Presence (presence.go); remote is guarded by mu, the rest is run's.
	remote   map[uint16]snapshot
	arriving map[uint16]*pending
	presSeq  uint32
	instance uint64 // random, in presence: tells apart two nodes given one ID
	// conflicting is the instance of the last node heard with our ID (run's).
	conflicting uint64
	twins       map[uint16]bool     // other node IDs seen used by two nodes, logged (run's)
	reconnects  uint64              // nats.go's count when run last looked
	retry       map[string]struct{} // rooms whose subscription failed (run's)

	mu    sync.Mutex
	subs  map[string]*nats.Subscription // rooms with local members
	dirty map[string]struct{}           // rooms whose interest changed
	kick  chan struct{}
	done  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once

	onRoom func(room string, op engine.OpCode, payload []byte)
	onSub  func(room string)
	onNode func(node uint16, up bool)
	// Subscriptions waiting for NATS to confirm them (guarded by mu), for
	// OnSubscribed; confirmKick wakes the goroutine that confirms them.
	unconfirmed map[string]struct{}
	confirmKick chan struct{}
	ctx         context.Context // ends when Close starts
	cancel      context.CancelFunc

	published, received, dropped, conflicts atomic.Int64
}

// Errors of Join.
var (
	// ErrStarted: Join came after the server started.
	ErrStarted = errors.New("cluster: join before the server starts")
	// ErrRemoteOpCode: SendTo a connection on another node with an
	// opcode other than text or binary.
	ErrRemoteOpCode = errors.New("cluster: only text and binary messages go to another node")
	// ErrRoomName: a room name over 65,535 bytes.
	ErrRoomName = errors.New("cluster: room name too long")
	// ErrTooLarge: a message larger than the NATS server takes
	// (max_payload, 1 MiB by default, less a few bytes of header).
	ErrTooLarge = errors.New("cluster: message larger than NATS max_payload")
	// ErrPrefix: a subject prefix that is not dot-separated tokens of
	// letters, digits, '-' and '_'.
	ErrPrefix = errors.New("cluster: invalid subject prefix")
)

// Join makes srv a node of the cluster on nc. It must come before
// srv.Start. nc stays the caller's: Close does not close it. A connection
// made with nats.NoEcho() spares NATS sending a node's messages back to it
// (they are dropped either way).
func Join(srv *engine.Server, nc *nats.Conn, o Options) (*Node, error) {
	if srv.Addr() != nil {
		return nil, ErrStarted
	}
	if o.Prefix == "" {
		o.Prefix = "wshub"
	}
	if !validPrefix(o.Prefix) {
		return nil, ErrPrefix
	}
	if o.Inbox <= 0 {
		o.Inbox = 1 << 16
	}
	if o.PresenceInterval <= 0 {
		o.PresenceInterval = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	n := &Node{
		srv: srv, nc: nc, log: o.Logger, prefix: o.Prefix, id: srv.NodeID(),
		in:   make(chan *nats.Msg, o.Inbox),
		subs: make(map[string]*nats.Subscription), dirty: make(map[string]struct{}),
		kick: make(chan struct{}, 1), done: make(chan struct{}),
		interval: o.PresenceInterval, onRoom: o.OnRoomMessage, instance: rand.Uint64(),
		onSub: o.OnSubscribed, onNode: o.OnNode, confirmKick: make(chan struct{}, 1),
		unconfirmed: make(map[string]struct{}),
		remote:      make(map[uint16]snapshot), arriving: make(map[uint16]*pending),
	}
	var err error
	if n.all, err = nc.ChanSubscribe(n.prefix+".all", n.in); err != nil {
		return nil, err
	}
	if n.self, err = nc.ChanSubscribe(n.prefix+".node."+strconv.Itoa(int(n.id)), n.in); err != nil {
		_ = n.all.Unsubscribe()
		return nil, err
	}
	if n.presence, err = nc.ChanSubscribe(n.prefix+".presence", n.in); err != nil {
		_ = n.all.Unsubscribe()
		_ = n.self.Unsubscribe()
		return nil, err
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	srv.WatchRooms(n.watch)
	n.wg.Add(1)
	go n.run()
	if n.onSub != nil {
		n.wg.Add(1)
		go n.confirm()
	}
	return n, nil
}

// kickConfirm wakes the goroutine that confirms subscriptions, if there
// is one.
func (n *Node) kickConfirm() {
	if n.onSub == nil {
		return
	}
	signal(n.confirmKick)
}

// signal wakes a goroutine waiting on ch (capacity 1) without blocking: a
// wake-up already pending stands for this one too.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// take returns the rooms of set and empties it. Caller holds n.mu.
func take(set map[string]struct{}) []string {
	rooms := slices.Collect(maps.Keys(set))
	clear(set)
	return rooms
}

// reconfirmAfterReconnect has every subscription confirmed again once
// nats.go has reconnected (it sends them all again): OnSubscribed comes
// again for each room, so that what an application announces there
// (the demo's presence) is announced again after an outage. Run's.
func (n *Node) reconfirmAfterReconnect() {
	if n.onSub == nil {
		return
	}
	r := n.nc.Stats().Reconnects
	if r == n.reconnects {
		return
	}
	n.reconnects = r
	n.mu.Lock()
	for room := range n.subs {
		n.unconfirmed[room] = struct{}{}
	}
	n.mu.Unlock()
	n.kickConfirm()
}

// confirmTimeout bounds one confirming round trip.
const confirmTimeout = 10 * time.Second

// confirm tells OnSubscribed of the subscriptions NATS has confirmed: a
// flush (PING, PONG) after a subscription means NATS has read it. While
// NATS is unreachable it tries again every interval; nats.go sends the
// subscriptions again when it reconnects.
func (n *Node) confirm() {
	defer n.wg.Done()
	var wait <-chan time.Time
	for {
		select {
		case <-n.done:
			return
		case <-n.confirmKick:
		case <-wait:
		}
		n.mu.Lock()
		rooms := take(n.unconfirmed)
		n.mu.Unlock()
		if len(rooms) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(n.ctx, confirmTimeout)
		err := n.nc.FlushWithContext(ctx)
		cancel()
		if err != nil {
			n.mu.Lock()
			for _, r := range rooms {
				n.unconfirmed[r] = struct{}{}
			}
			n.mu.Unlock()
			wait = time.After(n.interval)
			continue
		}
		wait = nil
		for _, r := range rooms {
			n.mu.Lock()
			_, still := n.subs[r]
			n.mu.Unlock()
			if still {
				n.onSub(r)
			}
		}
	}
}

// The wire format of a message: a version byte, the opcode, the origin's
// node ID, a connection ID (the target of a send; 0 otherwise), then the
// payload.
const (
	wireVersion = 1
	headerLen   = 12
)

func (n *Node) encode(op engine.OpCode, id uint64, name string, payload []byte) []byte {
	b := make([]byte, headerLen, headerLen+2+len(name)+len(payload))
	b[0], b[1] = wireVersion, byte(op)
	binary.BigEndian.PutUint16(b[2:], n.id)
	binary.BigEndian.PutUint64(b[4:], id)
	if name != "" { // a room with a hashed token: its name, length first
		b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
		b = append(b, name...)
	}
	return append(b, payload...)
}

// Publish sends a message to every member of room on every node. Safe from
// any goroutine.
func (n *Node) Publish(room string, op engine.OpCode, payload []byte) error {
	return n.PublishExcept(room, op, payload, nil)
}

// PublishExcept is Publish but for one local connection (the sender, say).
// Safe from any goroutine.
func (n *Node) PublishExcept(room string, op engine.OpCode, payload []byte, except *engine.Conn) error {
	if len(room) > maxRoom {
		return ErrRoomName
	}
	subject, hashed := n.roomSubject(room)
	name := ""
	if hashed {
		name = room
	}
	if err := n.fits(name, payload); err != nil {
		return err
	}
	if err := n.srv.PublishExcept(room, op, payload, except); err != nil {
		return err
	}
	n.sendNamed(subject, op, 0, name, payload)
	return nil
}

// fits reports ErrTooLarge for a message NATS would refuse (its
// max_payload), before anything is delivered.
func (n *Node) fits(name string, payload []byte) error {
	if limit := n.nc.MaxPayload(); limit > 0 && int64(headerLen+2+len(name)+len(payload)) > limit {
		return ErrTooLarge
	}
	return nil
}

// Broadcast sends a message to every connection of the cluster. Safe from
// any goroutine.
func (n *Node) Broadcast(op engine.OpCode, payload []byte) error {
	return n.BroadcastExcept(op, payload, nil)
}

// BroadcastExcept is Broadcast but for one local connection. Safe from any
// goroutine.
func (n *Node) BroadcastExcept(op engine.OpCode, payload []byte, except *engine.Conn) error {
	if err := n.fits("", payload); err != nil {
		return err
	}
	if err := n.srv.BroadcastExcept(op, payload, except); err != nil {
		return err
	}
	n.send(n.prefix+".all", op, 0, payload)
	return nil
}

// SendTo sends a message to the connection with the given ID, on whichever
// node holds it. A local ID that is not connected gets engine's error; a
// remote one is sent at most once, and a remote node drops it if the
// connection is gone. Safe from any goroutine.
func (n *Node) SendTo(id uint64, op engine.OpCode, payload []byte) error {
	node := uint16(id >> 48)
	if node == n.id {
		return n.srv.SendTo(id, op, payload)
	}
	if op != engine.OpText && op != engine.OpBinary {
		return ErrRemoteOpCode
	}
	if err := n.fits("", payload); err != nil {
		return err
	}
	n.send(n.prefix+".node."+strconv.Itoa(int(node)), op, id, payload)
	return nil
}

// send hands a message to NATS, counting what it does not take.
func (n *Node) send(subject string, op engine.OpCode, id uint64, payload []byte) {
	n.sendNamed(subject, op, id, "", payload)
}

func (n *Node) sendNamed(subject string, op engine.OpCode, id uint64, name string, payload []byte) {
	if err := n.nc.Publish(subject, n.encode(op, id, name, payload)); err != nil {
		n.dropped.Add(1)
		n.log.Warn("cluster: message dropped", "subject", subject, "err", err)
		return
	}
	n.published.Add(1)
}

// roomSubject is the subject of a room, and whether its token is a hash.
func (n *Node) roomSubject(room string) (string, bool) {
	t, hashed := roomToken(room)
	return n.prefix + ".room." + t, hashed
}

// Room names become one subject token each: the name itself when it is
// made of letters, digits, '-' and '_' and short; otherwise '~' and its
// base64url; a name whose token would still pass maxToken bytes (NATS
// refuses long protocol lines and closes the connection) is "~~" and the
// base64url of its SHA-256, and its messages carry the name, which
// delivery checks. Names over maxRoom bytes are refused (ErrRoomName).
const (
	maxToken = 200
	maxRoom  = 1<<16 - 1
)

// roomToken returns room's token, and whether it is a hash.
func roomToken(room string) (string, bool) {
	plain := room != "" && len(room) <= maxToken
	for i := 0; i < len(room) && plain; i++ {
		plain = tokenByte(room[i])
	}
	if plain {
		return room, false
	}
	if base64.RawURLEncoding.EncodedLen(len(room))+1 <= maxToken {
		return "~" + base64.RawURLEncoding.EncodeToString([]byte(room)), false
	}
	sum := sha256.Sum256([]byte(room))
	return "~~" + base64.RawURLEncoding.EncodeToString(sum[:]), true
}

// roomName reverses roomToken; hashed means the name is in the message.
func roomName(token string) (name string, hashed, ok bool) {
	switch {
	case strings.HasPrefix(token, "~~"):
		return "", true, len(token) > 2
	case strings.HasPrefix(token, "~"):
		b, err := base64.RawURLEncoding.DecodeString(token[1:])
		return string(b), false, err == nil
	}
	return token, false, token != ""
}

// watch is the server's room watcher: it runs on an event loop, so it only
// notes the room for run.
func (n *Node) watch(room string) {
	n.mu.Lock()
	n.dirty[room] = struct{}{}
	n.mu.Unlock()
	signal(n.kick)
}

// run subscribes and unsubscribes as rooms gain and lose local members,
// and delivers what arrives from NATS, until Close.
func (n *Node) run() {
	defer n.wg.Done()
	tick := time.NewTicker(n.interval)
	defer tick.Stop()
	for {
		select {
		case <-n.done:
			return
		case <-n.kick:
			n.reconcile()
		case m := <-n.in:
			if m.Sub == n.presence {
				n.hear(m)
			} else {
				n.deliver(m)
			}
		case now := <-tick.C:
			n.retryFailed()
			n.reconfirmAfterReconnect()
			if n.nc.IsConnected() { // else it would only fill the reconnect buffer
				n.announce(false)
			}
			n.expire(now)
		}
	}
}

// reconcile makes the subscriptions match the rooms that have local
// members now, for the rooms whose interest changed. A subscription takes
// effect once NATS has read it, a round trip later: cross-node messages
// published meanwhile do not reach the room's new members here (at most
// once). A subscription that fails is tried again at the next tick.
func (n *Node) reconcile() {
	n.mu.Lock()
	rooms := take(n.dirty)
	n.mu.Unlock()
	for _, r := range rooms {
		want := n.srv.Members(r) > 0
		n.mu.Lock()
		sub, have := n.subs[r]
		n.mu.Unlock()
		switch {
		case want && !have:
			if len(r) > maxRoom {
				n.log.Warn("cluster: room name too long for the cluster; local only", "bytes", len(r))
				continue
			}
			subject, _ := n.roomSubject(r)
			s, err := n.nc.ChanSubscribe(subject, n.in)
			if err != nil {
				if n.retry == nil {
					n.retry = make(map[string]struct{})
				}
				if len(n.retry) == 0 || !n.nc.IsClosed() {
					n.log.Error("cluster: subscribe", "room", r, "err", err)
				}
				n.retry[r] = struct{}{}
				continue
			}
			n.mu.Lock()
			n.subs[r] = s
			if n.onSub != nil {
				n.unconfirmed[r] = struct{}{}
			}
			n.mu.Unlock()
			n.kickConfirm()
		case !want && have:
			if err := sub.Unsubscribe(); err != nil {
				n.log.Warn("cluster: unsubscribe", "room", r, "err", err)
			}
			n.mu.Lock()
			delete(n.subs, r)
			n.mu.Unlock()
		}
	}
}

// retryFailed hands the rooms whose subscription failed to reconcile
// again; on a closed connection they wait, since nothing will work.
func (n *Node) retryFailed() {
	if len(n.retry) == 0 || n.nc.IsClosed() {
		return
	}
	n.mu.Lock()
	for r := range n.retry {
		n.dirty[r] = struct{}{}
	}
	n.mu.Unlock()
	clear(n.retry)
	n.reconcile()
}

// deliver publishes a message from another node locally.
func (n *Node) deliver(m *nats.Msg) {
	d := m.Data
	if len(d) < headerLen || d[0] != wireVersion {
		n.log.Warn("cluster: malformed message", "subject", m.Subject, "bytes", len(d))
		return
	}
	op, origin, id, payload := engine.OpCode(d[1]), binary.BigEndian.Uint16(d[2:]), binary.BigEndian.Uint64(d[4:]), d[headerLen:]
	if origin == n.id {
		return // delivered by this node when it was published
	}
	var err error
	rest := strings.TrimPrefix(m.Subject, n.prefix+".")
	switch {
	case rest == "all":
		err = n.srv.Broadcast(op, payload)
	case strings.HasPrefix(rest, "node."):
		err = n.srv.SendTo(id, op, payload)
	case strings.HasPrefix(rest, "room."):
		token := rest[len("room."):]
		room, hashed, ok := roomName(token)
		if ok && hashed {
			if len(payload) < 2 || len(payload) < 2+int(binary.BigEndian.Uint16(payload)) {
				ok = false
			} else {
				l := int(binary.BigEndian.Uint16(payload))
				room, payload = string(payload[2:2+l]), payload[2+l:]
				t, _ := roomToken(room)
				ok = t == token
			}
		}
		if !ok {
			n.log.Warn("cluster: malformed room message", "subject", m.Subject)
			return
		}
		if err = n.srv.Publish(room, op, payload); err == nil && n.onRoom != nil {
			n.onRoom(room, op, payload)
		}
	default:
		return
	}
	if err == nil {
		n.received.Add(1)
	}
}

// Stats returns the node's counters. Safe from any goroutine.
func (n *Node) Stats() Stats {
	n.mu.Lock()
	rooms, nodes := len(n.subs), len(n.remote)
	n.mu.Unlock()
	var slow int64
	for _, s := range n.allSubs() {
		if d, err := s.Dropped(); err == nil {
			slow += int64(d)
		}
	}
	return Stats{
		Published: n.published.Load(), Received: n.received.Load(), Dropped: n.dropped.Load(),
		SlowDropped: slow, Rooms: rooms, Nodes: nodes, Conflicts: n.conflicts.Load(),
		Connected: n.nc.IsConnected(),
	}
}

// Subscribed returns the rooms the node subscribes to: those with members
// on it. Safe from any goroutine.
func (n *Node) Subscribed() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Collect(maps.Keys(n.subs))
}

func (n *Node) allSubs() []*nats.Subscription {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := []*nats.Subscription{n.all, n.self, n.presence}
	for _, s := range n.subs {
		out = append(out, s)
	}
	return out
}

// Close leaves the cluster: every subscription ends and the node's
// goroutine stops. The server and the NATS connection are left as they
// are. Safe from any goroutine; later calls do nothing.
func (n *Node) Close() error {
	n.once.Do(func() {
		n.cancel()
		close(n.done)
		n.wg.Wait()
		n.announce(true) // the others forget this node's rooms now
		for _, s := range n.allSubs() {
			_ = s.Unsubscribe()
		}
		n.mu.Lock()
		clear(n.subs)
		n.mu.Unlock()
	})
	return nil
}

// validPrefix reports whether p is dot-separated tokens of letters,
// digits, '-' and '_'.
func validPrefix(p string) bool {
	for tok := range strings.SplitSeq(p, ".") {
		if tok == "" || len(tok) > maxToken {
			return false
		}
		for i := 0; i < len(tok); i++ {
			if !tokenByte(tok[i]) {
				return false
			}
		}
	}
	return len(p) <= 1024
}

// tokenByte reports whether c may stand in a subject token as it is:
// letters, digits, '-' and '_'.
func tokenByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}
