package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// A cluster run (Config.Cluster, or several addresses) spreads the
// connections over the nodes (Config.node), reports each node's share
// (Result.Nodes) and, from the nodes' stats and the NATS server's /varz,
// what went through NATS in the measured phase (Result.NATS). A room
// message is handed to NATS once by the node it was sent to and delivered
// once to every other node with members in its room: never once per
// recipient, which the run checks.

// clusterWait bounds the wait for every node to be connected to NATS.
const clusterWait = 15 * time.Second

// ClusterStats is the "cluster" object of a wshub node's stats
// (cmd/wshub -nats … -stats).
type ClusterStats struct {
	Node        string `json:"node"`
	NodeID      int    `json:"node_id"`
	Connected   bool   `json:"connected"`
	Nodes       int    `json:"nodes"`     // other nodes heard from
	Rooms       int    `json:"rooms"`     // rooms subscribed to
	Published   int64  `json:"published"` // messages handed to NATS
	Received    int64  `json:"received"`  // messages from other nodes delivered
	Dropped     int64  `json:"dropped"`
	SlowDropped int64  `json:"slow_dropped"`
	Conflicts   int64  `json:"id_conflicts"`
	NATSIn      int64  `json:"nats_in_msgs"`
	NATSOut     int64  `json:"nats_out_msgs"`
	Reconnects  int64  `json:"nats_reconnects"`
}

// Node is one node's share of a cluster run, in Config.Addr's order.
type Node struct {
	Addr      string `json:"addr"`
	Conns     int    `json:"conns"`          // its connections that opened
	Sent      int64  `json:"sent,omitempty"` // measured messages its clients published
	Expected  int64  `json:"expected,omitempty"`
	Delivered int64  `json:"delivered,omitempty"`
	Lost      int64  `json:"lost"`
	// PerSecond is its deliveries per second, from the run's first send to
	// its own last delivery.
	PerSecond  float64  `json:"per_second,omitempty"`
	Latency    *Latency `json:"latency_us,omitempty"`
	CPUSeconds float64  `json:"cpu_s,omitempty"` // the node process, measured phase
	RSS        int64    `json:"rss,omitempty"`   // at the end
	// NATS is what its stats said of the cluster, over the measured
	// phase; nil without a stats URL with a cluster object.
	NATS *NodeNATS `json:"nats,omitempty"`
}

// NodeNATS is one node's cluster counters over the measured phase (Nodes,
// Connected: at its end).
type NodeNATS struct {
	Name        string `json:"name"`
	Connected   bool   `json:"connected"`
	Nodes       int    `json:"nodes"`     // other nodes it heard from
	Published   int64  `json:"published"` // messages it handed to NATS
	Received    int64  `json:"received"`  // messages from other nodes it delivered
	Dropped     int64  `json:"dropped"`
	SlowDropped int64  `json:"slow_dropped"`
	Conflicts   int64  `json:"id_conflicts"`
	Reconnects  int64  `json:"nats_reconnects"`
}

// NATS is what went through NATS in the measured phase of a cluster run.
type NATS struct {
	Published int64 `json:"published"` // the nodes' messages handed to NATS
	Received  int64 `json:"received"`  // the nodes' messages delivered from NATS
	// WantReceived is one per message and other node with members in the
	// message's room.
	WantReceived int64 `json:"want_received"`
	// Per message the clients published (Result.Sent).
	PublishedPer float64 `json:"published_per_msg"`
	ReceivedPer  float64 `json:"received_per_msg"`
	WantPer      float64 `json:"want_per_msg"`
	// The NATS server's /varz in_msgs and out_msgs (presence included, a
	// message per node and second, and to every other node), when known.
	InMsgs     *int64   `json:"in_msgs,omitempty"`
	OutMsgs    *int64   `json:"out_msgs,omitempty"`
	InPer      *float64 `json:"in_per_msg,omitempty"`
	OutPer     *float64 `json:"out_per_msg,omitempty"`
	CPUSeconds float64  `json:"cpu_s,omitempty"` // the NATS server process
}

// varz is what is read of the NATS server's /varz.
type varz struct {
	InMsgs  int64 `json:"in_msgs"`
	OutMsgs int64 `json:"out_msgs"`
}

// fetchVarz GETs the NATS server's /varz.
func fetchVarz(url string) (*varz, error) {
	resp, err := statsClient.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: GET %s: %s", url, resp.Status)
	}
	var v varz
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return nil, fmt.Errorf("bench: GET %s: %w", url, err)
	}
	return &v, nil
}

// nodePID is node k's process, 0 if unknown.
func (c *Config) nodePID(k int) int {
	switch {
	case len(c.NodePIDs) > k:
		return c.NodePIDs[k]
	case k == 0:
		return c.ServerPID
	}
	return 0
}

// nodeStatsURL is node k's stats URL, "" if unknown.
func (c *Config) nodeStatsURL(k int) string {
	switch {
	case len(c.NodeStats) > k:
		return c.NodeStats[k]
	case k == 0:
		return c.StatsURL
	}
	return ""
}

// newNodes is a cluster run's Result.Nodes before anything is measured.
func newNodes(cfg Config) []Node {
	if !cfg.cluster() {
		return nil
	}
	nodes := cfg.nodes()
	out := make([]Node, len(nodes))
	for i, a := range nodes {
		out[i].Addr = a
	}
	return out
}

// waitCluster waits until every node with a stats URL says it is
// connected to NATS, for up to clusterWait; a node whose stats have no
// cluster object is not waited for.
func (d *driver) waitCluster() error {
	deadline := time.Now().Add(clusterWait)
	for k := range d.res.Nodes {
		url := d.cfg.nodeStatsURL(k)
		if url == "" {
			continue
		}
		for {
			s, err := FetchStats(url)
			if err == nil && (s == nil || s.Cluster == nil || s.Cluster.Connected) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("bench: node %s is not connected to NATS after %s (stats: %v)", d.res.Nodes[k].Addr, clusterWait, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// clusterMark is the nodes' cluster counters and the NATS server's at one
// point; nil where not known.
type clusterMark struct {
	nodes []*ClusterStats
	varz  *varz
}

func (d *driver) clusterMark() clusterMark {
	var m clusterMark
	if len(d.res.Nodes) == 0 {
		return m
	}
	m.nodes = make([]*ClusterStats, len(d.res.Nodes))
	for k := range m.nodes {
		if url := d.cfg.nodeStatsURL(k); url != "" {
			if s, err := FetchStats(url); err == nil && s != nil {
				m.nodes[k] = s.Cluster
			}
		}
	}
	if d.cfg.NATSVarz != "" {
		v, err := fetchVarz(d.cfg.NATSVarz)
		if err != nil {
			d.logf("NATS varz: %v", err)
		}
		m.varz = v
	}
	return m
}

// natsFigures sets each node's cluster counters and Result.NATS from the
// marks before and after the measured phase, then checks them.
func (d *driver) natsFigures(a, b clusterMark) {
	r := d.res
	if len(r.Nodes) == 0 || a.nodes == nil || b.nodes == nil {
		return
	}
	n := &NATS{}
	complete := true
	for k := range r.Nodes {
		x, y := a.nodes[k], b.nodes[k]
		if x == nil || y == nil {
			complete = false
			continue
		}
		nn := &NodeNATS{Name: y.Node, Connected: y.Connected, Nodes: y.Nodes,
			Published: y.Published - x.Published, Received: y.Received - x.Received,
			Dropped: y.Dropped - x.Dropped, SlowDropped: y.SlowDropped - x.SlowDropped,
			Conflicts: y.Conflicts - x.Conflicts, Reconnects: y.Reconnects - x.Reconnects}
		r.Nodes[k].NATS = nn
		n.Published += nn.Published
		n.Received += nn.Received
	}
	if a.varz != nil && b.varz != nil {
		in, out := b.varz.InMsgs-a.varz.InMsgs, b.varz.OutMsgs-a.varz.OutMsgs
		n.InMsgs, n.OutMsgs = &in, &out
		if r.Sent > 0 {
			ip, op := float64(in)/float64(r.Sent), float64(out)/float64(r.Sent)
			n.InPer, n.OutPer = &ip, &op
		}
	}
	if !complete && n.InMsgs == nil {
		return
	}
	n.CPUSeconds = d.natsCPU
	n.WantReceived = wantReceived(&d.cfg, r)
	if r.Sent > 0 {
		s := float64(r.Sent)
		n.PublishedPer, n.ReceivedPer, n.WantPer = float64(n.Published)/s, float64(n.Received)/s, float64(n.WantReceived)/s
	}
	r.NATS = n
	if complete {
		checkNATS(r)
	}
}

// wantReceived is how many deliveries from NATS to nodes the messages
// sent should take: one per message and other node with members in its
// room. Broadcast: the publisher is on the first node, every node with a
// connection is in the room. Rooms: every member's room spans
// min(Members, nodes) nodes (Config.node). Echo publishes nothing.
func wantReceived(c *Config, r *Result) int64 {
	switch c.Scenario {
	case ScenarioBroadcast:
		others := 0
		for _, n := range r.Nodes[1:] {
			if n.Conns > 0 {
				others++
			}
		}
		return r.Sent * int64(others)
	case ScenarioRooms:
		return r.Sent * int64(min(c.Members, len(r.Nodes))-1)
	}
	return 0
}

// checkNATS fails a run whose NATS traffic is not one message per
// published message and interested node.
func checkNATS(r *Result) {
	n := r.NATS
	if r.Scenario != ScenarioBroadcast && r.Scenario != ScenarioRooms {
		return
	}
	if n.Published != r.Sent {
		r.fail("the nodes handed %d messages to NATS for %d published by the clients: want one each", n.Published, r.Sent)
	}
	switch {
	case n.Received > n.WantReceived:
		r.fail("NATS delivered %d messages to the nodes for %d published (%.2f each): want %d (%.2f: one per other node with members in the room, not one per recipient)",
			n.Received, r.Sent, n.ReceivedPer, n.WantReceived, n.WantPer)
	case n.Received < n.WantReceived:
		r.fail("NATS delivered %d of the %d messages the other nodes with members in the room should get", n.Received, n.WantReceived)
	}
	for _, node := range r.Nodes {
		x := node.NATS
		switch {
		case x == nil:
		case x.Dropped > 0 || x.SlowDropped > 0:
			r.fail("node %s (%s): %d messages not taken by NATS, %d dropped as a slow consumer", x.Name, node.Addr, x.Dropped, x.SlowDropped)
		case x.Conflicts > 0:
			r.warn("node %s (%s): %d node-ID conflicts: give every node its own -node-id", x.Name, node.Addr, x.Conflicts)
		case x.Reconnects > 0:
			r.warn("node %s (%s) reconnected to NATS %d times during the run", x.Name, node.Addr, x.Reconnects)
		}
	}
}

// countNodes adds up the agents' shares of each node; first is the run's
// first send (Unix ns).
func (d *driver) countNodes(resps []response, first int64) {
	r := d.res
	hists := make([]Histogram, len(r.Nodes))
	last := make([]int64, len(r.Nodes))
	for _, a := range resps {
		for k, s := range a.Nodes {
			if k >= len(r.Nodes) {
				break
			}
			n := &r.Nodes[k]
			n.Conns += s.Conns
			n.Sent += s.Sent
			n.Expected += s.Expected
			n.Delivered += s.Delivered
			last[k] = max(last[k], s.Last)
			if s.Latency != nil {
				hists[k].Merge(s.Latency)
			}
		}
	}
	for k := range r.Nodes {
		n := &r.Nodes[k]
		n.Lost = max(n.Expected-n.Delivered, 0)
		if hists[k].Count() > 0 {
			n.Latency = newLatency(&hists[k])
		}
		if first != 0 && last[k] > first {
			n.PerSecond = float64(n.Delivered) / (float64(last[k]-first) / 1e9)
		}
	}
}
