package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// writeCompressionTables sets every compressed table (NAME-z) beside its
// uncompressed baseline (NAME-json, else NAME), server by server: what
// permessage-deflate costs each server, and the ratio, which compares with
// the peers' whatever the machine.
func writeCompressionTables(w io.Writer, groups []group) {
	for i := range groups {
		z := &groups[i]
		base, ok := strings.CutSuffix(z.name, "-z")
		if !ok {
			continue
		}
		plain := findGroup(groups, base+"-json", base)
		if plain == nil {
			continue
		}
		cols, cells := compareColumns(baseName(z.name))
		fmt.Fprintf(w, "## compression: %s against %s\n\n", z.name, plain.name)
		fmt.Fprintf(w, "| server | %s | status |\n", strings.Join(cols, " | "))
		fmt.Fprintf(w, "|---|%s---|\n", strings.Repeat("---:|", len(cols)))
		for _, rz := range z.rows {
			i := slices.IndexFunc(plain.rows, func(r *Result) bool { return r.Label == rz.Label })
			if i < 0 {
				continue
			}
			rp := plain.rows[i]
			st := "ok"
			if !rp.OK || !rz.OK {
				st = "FAIL (see the tables above)"
			}
			fmt.Fprintf(w, "| %s | %s | %s |\n", rz.Label, strings.Join(cells(rp, rz), " | "), st)
		}
		fmt.Fprintln(w)
	}
}

func findGroup(groups []group, names ...string) *group {
	for _, n := range names {
		for i := range groups {
			if groups[i].name == n {
				return &groups[i]
			}
		}
	}
	return nil
}

// compareColumns returns the columns that set a plain run (p) beside its
// compressed twin (z).
func compareColumns(base string) ([]string, func(p, z *Result) []string) {
	if base == "idle" {
		return []string{"RSS bytes/conn", "RSS bytes/conn z", "heap bytes/conn", "heap bytes/conn z",
			"live heap bytes/conn", "live heap bytes/conn z"}, compareIdle
	}
	return []string{"deliveries/s", "deliveries/s z", "server CPU s/1M", "server CPU s/1M z", "**CPU z ÷ plain**", "wire"}, compareMessages
}

func compareMessages(p, z *Result) []string {
	ratio := "n/a"
	if p.Server.CPUPerMillion > 0 && z.Server.CPUPerMillion > 0 {
		ratio = fmt.Sprintf("%.2f×", z.Server.CPUPerMillion/p.Server.CPUPerMillion)
	}
	return []string{num(p.PerSecond), num(z.PerSecond), fmt.Sprintf("%.2f", p.Server.CPUPerMillion),
		fmt.Sprintf("%.2f", z.Server.CPUPerMillion), ratio, compressionCells(z)[1]}
}

func compareIdle(p, z *Result) []string {
	opt := func(i *Idle, v func(*Idle) *float64) string {
		if i == nil || v(i) == nil {
			return "–"
		}
		return num(*v(i))
	}
	rss := func(i *Idle) *float64 { return &i.RSSPerConn }
	heap := func(i *Idle) *float64 { return i.HeapPerConn }
	live := func(i *Idle) *float64 { return i.LivePerConn }
	return []string{opt(p.Idle, rss), opt(z.Idle, rss), opt(p.Idle, heap), opt(z.Idle, heap), opt(p.Idle, live), opt(z.Idle, live)}
}
