package main

import (
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wshub/wshub/cluster"
	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/demo"
)

// clusterNode is -nats: the NATS connection, and the node once the demo
// server has joined.
type clusterNode struct {
	nc     *nats.Conn
	node   *cluster.Node
	name   string
	id     uint16
	prefix string
	log    *slog.Logger
}

// nodeIdentity is -node and -node-id, defaults filled in: the host name
// and the port of -addr (the process ID when the port is 0, chosen by the
// kernel), and an ID hashed from the name.
func nodeIdentity(cfg config) (string, uint16, error) {
	name := cfg.node
	if name == "" {
		host, _ := os.Hostname()
		if host == "" {
			host = "wshub"
		}
		_, port, err := net.SplitHostPort(cfg.addr)
		if err != nil || port == "0" || port == "" {
			port = fmt.Sprintf("pid%d", os.Getpid())
		}
		name = host + ":" + port
	}
	if cfg.nodeID < 0 || cfg.nodeID > 0xffff {
		return "", 0, fmt.Errorf("-node-id must be 0-65535, not %d", cfg.nodeID)
	}
	if cfg.nodeID != 0 {
		return name, uint16(cfg.nodeID), nil
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	sum := h.Sum32()
	return name, uint16(sum>>16^sum)%0xffff + 1, nil // 1-65535
}

// joinNATS connects to NATS. It keeps trying in the background when NATS
// is not up yet, and reconnects for ever when it goes away; meanwhile the
// node serves its own clients alone, and says so in the log.
func joinNATS(cfg config, logger *slog.Logger) (*clusterNode, error) {
	name, id, err := nodeIdentity(cfg)
	if err != nil {
		return nil, err
	}
	cl := &clusterNode{name: name, id: id, prefix: cfg.prefix, log: logger}
	cl.nc, err = nats.Connect(cfg.nats,
		nats.Name("wshub "+name),
		nats.NoEcho(), // a node delivers its own messages itself
		nats.MaxReconnects(-1),
		// A NATS socket that stops taking writes fails the connection
		// (then reconnects) within 2 s instead of holding a publishing
		// event loop for nats.go's default minute.
		nats.FlusherTimeout(2*time.Second),
		nats.RetryOnFailedConnect(true),
		nats.ConnectHandler(func(nc *nats.Conn) {
			logger.Info("cluster: connected to NATS", "url", nc.ConnectedUrlRedacted(), "node", name, "node_id", id)
		}),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err == nil || nc.IsClosed() {
				return // our own Close
			}
			logger.Warn("cluster: NATS connection lost; serving local clients alone until it is back", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("cluster: reconnected to NATS", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			logger.Debug("cluster: NATS reconnect failed", "err", err)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			logger.Warn("cluster: NATS error", "err", err)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("-nats %s: %w", cfg.nats, err)
	}
	if !cl.nc.IsConnected() {
		logger.Warn("cluster: NATS not reachable yet; retrying in the background", "url", cfg.nats)
	}
	return cl, nil
}

// join is demo.Config.Join: the server becomes a node.
func (cl *clusterNode) join(srv *engine.Server, h demo.Hooks) (demo.Fanout, error) {
	n, err := cluster.Join(srv, cl.nc, cluster.Options{Prefix: cl.prefix, Logger: cl.log,
		OnRoomMessage: h.RoomMessage, OnSubscribed: h.Subscribed, OnNode: h.Node})
	if err != nil {
		return nil, err
	}
	cl.node = n
	return fanout{n}, nil
}

// fanout is the node as the demo publishes through it: a message too
// large for NATS is demo.ErrTooLarge.
type fanout struct{ *cluster.Node }

func (f fanout) Publish(room string, op engine.OpCode, payload []byte) error {
	err := f.Node.Publish(room, op, payload)
	if errors.Is(err, cluster.ErrTooLarge) {
		return fmt.Errorf("%w: %w", demo.ErrTooLarge, err)
	}
	return err
}

// clusterStats is the "cluster" object of /stats.
type clusterStats struct {
	Node      string `json:"node"`
	NodeID    uint16 `json:"node_id"`
	Connected bool   `json:"connected"`
	Nodes     int    `json:"nodes"` // other nodes heard from
	Rooms     int    `json:"rooms"` // rooms subscribed to
	Published int64  `json:"published"`
	Received  int64  `json:"received"`
	Dropped   int64  `json:"dropped"`
	SlowDrop  int64  `json:"slow_dropped"`
	Conflicts int64  `json:"id_conflicts"`
	InMsgs    uint64 `json:"nats_in_msgs"`
	OutMsgs   uint64 `json:"nats_out_msgs"`
	Reconnect uint64 `json:"nats_reconnects"`
}

func (cl *clusterNode) stats() clusterStats {
	s := clusterStats{Node: cl.name, NodeID: cl.id}
	if cl.node != nil {
		st := cl.node.Stats()
		s.Connected, s.Nodes, s.Rooms = st.Connected, st.Nodes, st.Rooms
		s.Published, s.Received, s.Dropped, s.SlowDrop, s.Conflicts = st.Published, st.Received, st.Dropped, st.SlowDropped, st.Conflicts
	}
	ns := cl.nc.Stats()
	s.InMsgs, s.OutMsgs, s.Reconnect = ns.InMsgs, ns.OutMsgs, ns.Reconnects
	return s
}

// close leaves the cluster (a goodbye, so the others stop counting this
// node's members at once) and sends what is still buffered, for up to 2 s.
func (cl *clusterNode) close() {
	var errs []error
	if cl.node != nil {
		errs = append(errs, cl.node.Close())
	}
	if cl.nc.IsConnected() {
		errs = append(errs, cl.nc.FlushTimeout(2*time.Second))
	}
	cl.nc.Close()
	if err := errors.Join(errs...); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		cl.log.Warn("cluster: leaving", "err", err)
	}
}
