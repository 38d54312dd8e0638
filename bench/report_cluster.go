package bench

import (
	"fmt"
	"io"
	"strings"
)

// clusterCaption explains the cluster tables.
const clusterCaption = "Cluster tables (cluster-…): the same scenario on N wshub nodes joined by one NATS server (all server processes on the one server CPU) against one node at equal total connections; “× 1 node” compares the key figure with the 1-node run of the same server, above 1 is better. “NATS per msg” is what the nodes handed to NATS and got from it per message the clients published: 1 and one per other node with members in the room, never one per recipient."

// p99Target is how much higher than on one node a cluster's rooms p99 may
// be.
const p99Target = 2.0

// rowName is a row's name in the tables: the server, and on a cluster run
// its node count.
func rowName(r *Result) string {
	switch n := r.Params.Nodes; {
	case n == 1:
		return r.Label + " · 1 node"
	case n > 1:
		return fmt.Sprintf("%s · %d nodes", r.Label, n)
	}
	return r.Label
}

// cluster reports whether the group holds cluster runs.
func (g *group) cluster() bool {
	for _, r := range g.rows {
		if r.Params.Nodes > 0 {
			return true
		}
	}
	return false
}

// oneNode is the 1-node run of r's server in the group, nil if none.
func (g *group) oneNode(r *Result) *Result {
	for _, x := range g.rows {
		if x.Label == r.Label && x.Params.Nodes == 1 {
			return x
		}
	}
	return nil
}

// nodeRatio is r's key figure against its server's on one node, oriented
// so that > 1 is better.
func (g *group) nodeRatio(r *Result) string {
	base := g.oneNode(r)
	if base == nil || !base.OK {
		return "n/a"
	}
	b, v := g.key.value(base), g.key.value(r)
	if b <= 0 || v <= 0 {
		return "n/a"
	}
	if g.key.higher {
		return fmt.Sprintf("%.2f×", v/b)
	}
	return fmt.Sprintf("%.2f×", b/v)
}

func writeClusterTable(w io.Writer, g *group) {
	r0 := g.rows[0]
	fmt.Fprintf(w, "## %s\n\n%s %s\n\n", g.name, describeParams(r0), describeSpread(r0))
	cols, cells := tableColumns(g.name)
	fmt.Fprintf(w, "| server | nodes | %s | NATS per msg (to, from) | client CPU | × 1 node | status |\n", strings.Join(boldKey(cols, g.key.title), " | "))
	fmt.Fprintf(w, "|---|---:|%s---:|---:|---:|---|\n", strings.Repeat("---:|", len(cols)))
	for _, r := range g.rows {
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s |\n", r.Label, r.Params.Nodes, strings.Join(cells(r), " | "), natsCell(r), clientCell(r), g.nodeRatio(r), status(r))
	}
	fmt.Fprintln(w)
	writeNodeTable(w, g)
	for _, r := range g.rows {
		if line := compareOneNode(g, r); line != "" {
			fmt.Fprintln(w, line)
		}
	}
	fmt.Fprintln(w)
}

// describeSpread says how a cluster run spread its connections.
func describeSpread(r *Result) string {
	switch r.Scenario {
	case ScenarioBroadcast:
		return "Receivers spread evenly over the nodes, the publisher on the first."
	case ScenarioRooms:
		return "Each room's members round-robin over the nodes."
	}
	return "Connections spread evenly over the nodes."
}

// natsCell is what the nodes handed to NATS and got from it per published
// message.
func natsCell(r *Result) string {
	n := r.NATS
	if n == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f, %.2f", n.PublishedPer, n.ReceivedPer)
}

// writeNodeTable writes every cluster row's nodes.
func writeNodeTable(w io.Writer, g *group) {
	unit := perSecondUnit(g.rows[0].Scenario)
	fmt.Fprintf(w, "| server | node | conns | sent | %s | p50 µs | p99 µs | lost | to NATS | from NATS | CPU s |\n", unit)
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range g.rows {
		for i, n := range r.Nodes {
			l := n.Latency
			if l == nil {
				l = &Latency{}
			}
			pub, recv := "–", "–"
			if x := n.NATS; x != nil {
				pub, recv = fmt.Sprint(x.Published), fmt.Sprint(x.Received)
			}
			fmt.Fprintf(w, "| %s | %d/%d %s | %d | %d | %s | %s | %s | %d | %s | %s | %.2f |\n",
				rowName(r), i+1, len(r.Nodes), n.Addr, n.Conns, n.Sent, num(n.PerSecond), num(l.P50), num(l.P99), n.Lost, pub, recv, n.CPUSeconds)
		}
	}
	fmt.Fprintln(w)
}

// compareOneNode is a line comparing a multi-node row with its server on
// one node: the rate ratio, the p99 both ways, and for rooms whether the
// p99 is within p99Target of one node's.
func compareOneNode(g *group, r *Result) string {
	base := g.oneNode(r)
	if r.Params.Nodes <= 1 || base == nil || r.Latency == nil || base.Latency == nil {
		return ""
	}
	s := fmt.Sprintf("- **%s against 1 node**:", rowName(r))
	if base.PerSecond > 0 {
		s += fmt.Sprintf(" %s %s → %s (%.2f×);", perSecondUnit(r.Scenario), num(base.PerSecond), num(r.PerSecond), r.PerSecond/base.PerSecond)
	}
	p, q := base.Latency.P99, r.Latency.P99
	sign := "+"
	if q < p {
		sign = ""
	}
	s += fmt.Sprintf(" p99 %s → %s µs (%s%s µs", num(p), num(q), sign, num(q-p))
	if p > 0 {
		s += fmt.Sprintf(", %.2f×", q/p)
	}
	s += ")"
	if baseName(g.name) == ScenarioRooms && p > 0 {
		verdict := "met"
		if q > p99Target*p {
			verdict = "NOT met"
		}
		s += fmt.Sprintf("; target p99 within %g× of 1 node: %s", p99Target, verdict)
	}
	if n := r.NATS; n != nil {
		s += fmt.Sprintf("; NATS per published message: %.2f to NATS, %.2f from it (want %.2f)", n.PublishedPer, n.ReceivedPer, n.WantPer)
		if n.InPer != nil && n.OutPer != nil {
			s += fmt.Sprintf(", nats-server in %.2f, out %.2f", *n.InPer, *n.OutPer)
		}
	}
	return s + "."
}
