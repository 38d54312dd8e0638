package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// subject is the label of the server under test; every other label is a
// peer it is compared with.
const subject = "wshub"

// scenarioOrder is the order of the report's tables.
var scenarioOrder = []string{"idle", "idle-z", "broadcast-burst", "broadcast-burst-json", "broadcast-burst-z",
	"broadcast-steady", "rooms", "echo", "connect", "inflate",
	"cluster-broadcast-burst", "cluster-broadcast-steady", "cluster-rooms", "cluster-echo"}

// baseName is a table name without its cluster- prefix and its -z or
// -json suffix: the scenario and mode, which choose the columns and the
// key figure.
func baseName(name string) string {
	name = strings.TrimPrefix(name, "cluster-")
	if s, ok := strings.CutSuffix(name, "-z"); ok {
		return s
	}
	s, _ := strings.CutSuffix(name, "-json")
	return s
}

// keyFigure is the figure a scenario's servers are ranked by.
type keyFigure struct {
	title  string
	higher bool // higher is better
	value  func(*Result) float64
}

func keyFor(name string) keyFigure {
	p99 := func(r *Result) float64 {
		if r.Latency == nil {
			return 0
		}
		return r.Latency.P99
	}
	switch baseName(name) {
	case "idle":
		return keyFigure{"RSS bytes/conn", false, func(r *Result) float64 {
			if r.Idle == nil {
				return 0
			}
			return r.Idle.RSSPerConn
		}}
	case "broadcast-steady", "rooms":
		return keyFigure{"p99 µs", false, p99}
	case "echo":
		return keyFigure{"msgs/s", true, func(r *Result) float64 { return r.PerSecond }}
	case "connect":
		return keyFigure{"handshakes/s", true, func(r *Result) float64 { return r.PerSecond }}
	case "inflate":
		return keyFigure{"server CPU ms/MB", false, func(r *Result) float64 {
			if r.Inflate == nil {
				return 0
			}
			return r.Inflate.CPUPerMB
		}}
	}
	return keyFigure{"deliveries/s", true, func(r *Result) float64 { return r.PerSecond }}
}

// ReadResults reads a JSON-lines results file.
func ReadResults(path string) ([]*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []*Result
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("bench: %s:%d: %w", path, line, err)
		}
		out = append(out, &r)
	}
	return out, sc.Err()
}

// group is one scenario's results, one per server (the last run wins), in
// the order the servers first appear; a cluster run's row is the server
// on so many nodes (rowName).
type group struct {
	name string
	key  keyFigure
	rows []*Result
}

func groupResults(results []*Result) []group {
	byName := map[string]*group{}
	var names []string
	for _, r := range results {
		g := byName[r.Name]
		if g == nil {
			g = &group{name: r.Name, key: keyFor(r.Name)}
			byName[r.Name] = g
			names = append(names, r.Name)
		}
		if i := slices.IndexFunc(g.rows, func(x *Result) bool { return rowName(x) == rowName(r) }); i >= 0 {
			g.rows[i] = r
		} else {
			g.rows = append(g.rows, r)
		}
	}
	rank := func(n string) int {
		if i := slices.Index(scenarioOrder, n); i >= 0 {
			return i
		}
		return len(scenarioOrder)
	}
	slices.SortStableFunc(names, func(a, b string) int { return rank(a) - rank(b) })
	out := make([]group, len(names))
	for i, n := range names {
		out[i] = *byName[n]
	}
	return out
}

// bestPeer is the best key figure among the peers that completed, NaN if
// none did.
func (g *group) bestPeer() float64 {
	best := math.NaN()
	for _, r := range g.rows {
		v := g.key.value(r)
		if r.Label == subject || !r.OK || v <= 0 {
			continue
		}
		if math.IsNaN(best) || g.key.higher && v > best || !g.key.higher && v < best {
			best = v
		}
	}
	return best
}

// ratio is r's key figure against the best peer's, oriented so that > 1 is
// better.
func (g *group) ratio(r *Result) string {
	best, v := g.bestPeer(), g.key.value(r)
	if math.IsNaN(best) || v <= 0 {
		return "n/a"
	}
	if g.key.higher {
		return fmt.Sprintf("%.2f×", v/best)
	}
	return fmt.Sprintf("%.2f×", best/v)
}

// WriteReport renders the results file in as Markdown tables, one per
// scenario, to the file out and to w.
func WriteReport(in, out string, w io.Writer) error {
	results, err := ReadResults(in)
	if err != nil {
		return err
	}
	var b strings.Builder
	writeReport(&b, results)
	if _, err = io.WriteString(w, b.String()); err != nil {
		return err
	}
	return os.WriteFile(out, []byte(b.String()), 0o644)
}

func writeReport(w io.Writer, results []*Result) {
	fmt.Fprintln(w, "# wsbench results")
	fmt.Fprintln(w)
	if len(results) > 0 {
		r := results[len(results)-1]
		fmt.Fprintf(w, "%s · %s (%d CPUs) · Linux %s\n\n", r.Time.Format("2006-01-02 15:04 MST"), r.Host.CPUModel, r.Host.CPUs, r.Host.Kernel)
	}
	groups := groupResults(results)
	for _, g := range groups {
		if g.cluster() {
			writeClusterTable(w, &g)
		} else {
			writeTable(w, &g)
		}
	}
	writeCompressionTables(w, groups)
	if slices.ContainsFunc(groups, func(g group) bool { return g.cluster() }) {
		fmt.Fprintln(w, clusterCaption)
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "“× best peer” compares the key figure (in bold) with the best peer's; above 1 is better. Server CPU is per 1M deliveries (echo: per 1M messages; inflate: ms per MB, 10^6 bytes, inflated). Client CPU is the load generator's share of one CPU; ⚠ means it was the bottleneck. “negotiated” counts the connections that got permessage-deflate; “wire” is the compressed size over the original, of what the client received (inflate: sent).")
}

func writeTable(w io.Writer, g *group) {
	fmt.Fprintf(w, "## %s\n\n%s\n\n", g.name, describeParams(g.rows[0]))
	cols, cells := tableColumns(g.name)
	fmt.Fprintf(w, "| server | %s | client CPU | × best peer | status |\n", strings.Join(boldKey(cols, g.key.title), " | "))
	fmt.Fprintf(w, "|---|%s---:|---:|---|\n", strings.Repeat("---:|", len(cols)))
	for _, r := range g.rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.Label, strings.Join(cells(r), " | "), clientCell(r), g.ratio(r), status(r))
	}
	fmt.Fprintln(w)
}

func boldKey(cols []string, key string) []string {
	out := slices.Clone(cols)
	for i, c := range out {
		if c == key {
			out[i] = "**" + c + "**"
		}
	}
	return out
}

// tableColumns returns a scenario's figure columns and how to fill them;
// a compressed run's have what negotiation and compression gave.
func tableColumns(name string) ([]string, func(*Result) []string) {
	base := baseName(name)
	cols, cells := baseColumns(base)
	switch {
	case !strings.HasSuffix(name, "-z"):
		return cols, cells
	case base == "idle" || base == "connect": // no messages
		return append(cols, "negotiated"), func(r *Result) []string {
			return append(cells(r), compressionCells(r)[0])
		}
	}
	return append(cols, "negotiated", "wire"), func(r *Result) []string {
		return append(cells(r), compressionCells(r)...)
	}
}

// baseColumns returns the columns of a scenario without compression.
func baseColumns(name string) ([]string, func(*Result) []string) {
	switch name {
	case "idle":
		return []string{"conns", "RSS MiB", "RSS bytes/conn", "heap bytes/conn", "stack bytes/conn",
			"collected: RSS bytes/conn", "live heap bytes/conn", "goroutines"}, idleCells
	case "connect":
		return []string{"conns", "handshakes/s", "handshake p50 µs", "handshake p99 µs", "reconnect s", "server CPU s"}, connectCells
	case "inflate":
		return []string{"route", "MB inflated", "MB/s", "server CPU ms/MB", "round trip p99 µs",
			"RSS before MiB", "peak RSS MiB", "heap before MiB", "peak heap MiB", "negotiated", "wire"}, inflateCells
	}
	rate := "deliveries/s"
	if name == "echo" {
		rate = "msgs/s"
	}
	return []string{rate, "p50 µs", "p99 µs", "p99.9 µs", "max µs", "lost", "server CPU s/1M"}, messageCells
}

func messageCells(r *Result) []string {
	l := r.Latency
	if l == nil {
		l = &Latency{}
	}
	return []string{num(r.PerSecond), num(l.P50), num(l.P99), num(l.P999), num(l.Max), fmt.Sprint(r.Lost), fmt.Sprintf("%.2f", r.Server.CPUPerMillion)}
}

func idleCells(r *Result) []string {
	i := r.Idle
	if i == nil || len(i.Points) == 0 {
		return []string{"–", "–", "–", "–", "–", "–", "–", "–"}
	}
	var conns, rss, gor []string
	for _, p := range i.Points {
		conns = append(conns, fmt.Sprint(p.Conns))
		rss = append(rss, fmt.Sprintf("%.1f", float64(p.RSS)/(1<<20)))
		if p.Goroutines != nil {
			gor = append(gor, fmt.Sprint(*p.Goroutines))
		}
	}
	opt := func(v *float64) string {
		if v == nil {
			return "–"
		}
		return num(*v)
	}
	g := "–"
	if len(gor) > 0 {
		g = strings.Join(gor, " → ")
	}
	return []string{strings.Join(conns, " → "), strings.Join(rss, " → "), num(i.RSSPerConn), opt(i.HeapPerConn), opt(i.StackPerConn),
		opt(i.CollectedRSSPerConn), opt(i.LivePerConn), g}
}

func inflateCells(r *Result) []string {
	in := r.Inflate
	if in == nil {
		in = &Inflate{}
	}
	l := r.Latency
	if l == nil {
		l = &Latency{}
	}
	route := in.Target
	if in.Echoed {
		route += " (echoed)"
	}
	heap := func(v *int64) string {
		if v == nil {
			return "–"
		}
		return fmt.Sprintf("%.1f", mib(*v))
	}
	cells := []string{route, num(float64(in.Bytes) / 1e6), num(in.MBPerSecond), fmt.Sprintf("%.2f", in.CPUPerMB), num(l.P99),
		fmt.Sprintf("%.1f", mib(in.RSSBefore)), fmt.Sprintf("%.1f", mib(in.PeakRSS)), heap(in.HeapBefore), heap(in.PeakHeap)}
	return append(cells, compressionCells(r)...)
}

// compressionCells are the connections that negotiated permessage-deflate
// and the compressed size over the original: of what was received, or
// for inflate, of what was sent.
func compressionCells(r *Result) []string {
	c := r.Compression
	if c == nil {
		return []string{"–", "–"}
	}
	v := ratio(c.ReceivedWire, c.Inflated)
	if r.Scenario == ScenarioInflate || v == 0 {
		v = ratio(c.SentWire, c.SentRaw)
	}
	wire := "–"
	if v > 0 {
		wire = fmt.Sprintf("%.2f", v)
	}
	return []string{fmt.Sprintf("%d/%d", c.Negotiated, r.Conns), wire}
}

func connectCells(r *Result) []string {
	l := r.Latency
	if l == nil {
		l = &Latency{}
	}
	rc := "–"
	if r.Reconnect != nil {
		rc = fmt.Sprintf("%.2f", r.Reconnect.Seconds)
	}
	return []string{fmt.Sprint(r.Conns), num(r.PerSecond), num(l.P50), num(l.P99), rc, fmt.Sprintf("%.2f", r.Server.CPUSeconds)}
}

func clientCell(r *Result) string {
	s := fmt.Sprintf("%.0f%%", 100*r.Client.CPUShare)
	if r.ClientBottleneck {
		s += " ⚠"
	}
	return s
}

func status(r *Result) string {
	if r.OK {
		return "ok"
	}
	return "FAIL: " + strings.ReplaceAll(strings.Join(r.Failures, "; "), "|", "/")
}

// num formats a figure with thousands separators and no decimals (two
// below 10).
func num(v float64) string {
	if v != 0 && math.Abs(v) < 10 {
		return fmt.Sprintf("%.2f", v)
	}
	s := fmt.Sprintf("%.0f", math.Abs(v))
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func describeParams(r *Result) string {
	s := describeScenario(r)
	switch p := r.Params; {
	case p.Compress && p.Payload == PayloadJSON && r.Scenario != ScenarioInflate:
		s += " JSON-like text, permessage-deflate negotiated."
	case p.Compress && r.Scenario != ScenarioInflate:
		s += " Permessage-deflate negotiated."
	case p.Payload == PayloadJSON && r.Scenario != ScenarioInflate:
		s += " JSON-like text, uncompressed."
	}
	return s
}

func describeScenario(r *Result) string {
	p := r.Params
	switch r.Scenario {
	case ScenarioIdle:
		return fmt.Sprintf("Server memory at %v idle connections.", p.IdleAt)
	case ScenarioBroadcast:
		s := fmt.Sprintf("%d connections in one room, one publishes %d × %d B back to back.", p.Conns, p.Msgs, p.Size)
		if p.Mode == ModeSteady {
			s = fmt.Sprintf("%d connections in one room, one publishes %d × %d B at %g msgs/s.", p.Conns, p.Msgs, p.Size, p.Rate)
		}
		return s
	case ScenarioInflate:
		return fmt.Sprintf("%d connections each send %d compressed %s messages of %d B, each followed by a ping, the next when its pong is back: the server's cost of inflating.",
			p.Conns, p.Msgs, p.Payload, p.Size)
	case ScenarioRooms:
		return fmt.Sprintf("%d rooms × %d members, each publishing %d B at %g msgs/s for %g s.", p.Rooms, p.Members, p.Size, p.Rate, p.Duration)
	case ScenarioEcho:
		return fmt.Sprintf("%d connections, closed loop of %d B echoes for %g s.", p.Conns, p.Size, p.Duration)
	case ScenarioConnect:
		return fmt.Sprintf("%d connections at up to %d/s.", p.Conns, p.DialRate)
	}
	return ""
}
