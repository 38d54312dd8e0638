package bench

import (
	"fmt"
	"html"
	"io"
	"os"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	chartWidth  = 860
	chartLabelW = 150 // server names
	chartValueW = 170 // value text after the bar
	chartBarH   = 18
	chartGap    = 6
	chartHeadH  = 34 // a panel's title
)

// WriteChart draws the results file in as an SVG bar chart: one panel per
// scenario, one bar per server for the key figure, stamped with the date,
// CPU model and kernel.
func WriteChart(in, out string) error {
	results, err := ReadResults(in)
	if err != nil {
		return err
	}
	var b strings.Builder
	writeChart(&b, results)
	return os.WriteFile(out, []byte(b.String()), 0o644)
}

func writeChart(w io.Writer, results []*Result) {
	groups := groupResults(results)
	height := 70
	for _, g := range groups {
		height += chartHeadH + len(g.rows)*(chartBarH+chartGap) + 10
	}
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, height, chartWidth, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")
	fmt.Fprintf(w, `<text x="10" y="22" font-size="16" font-weight="bold">wsbench: wshub and its peers</text>`+"\n")
	fmt.Fprintf(w, `<text x="10" y="42" fill="#555">%s</text>`+"\n", esc(stamp(results)))
	y := 70
	for _, g := range groups {
		y = writePanel(w, &g, y)
	}
	fmt.Fprintln(w, "</svg>")
}

// stamp is the chart's date, CPU model and kernel line.
func stamp(results []*Result) string {
	if len(results) == 0 {
		return "no results"
	}
	r := results[len(results)-1]
	return fmt.Sprintf("%s · %s (%d CPUs) · Linux %s", r.Time.Format("2006-01-02 15:04 MST"), r.Host.CPUModel, r.Host.CPUs, r.Host.Kernel)
}

// writePanel draws one scenario at y and returns the y below it.
func writePanel(w io.Writer, g *group, y int) int {
	dir := "higher is better"
	if !g.key.higher {
		dir = "lower is better"
	}
	fmt.Fprintf(w, `<text x="10" y="%d" font-weight="bold">%s</text><text x="%d" y="%d" fill="#555">%s, %s</text>`+"\n",
		y+14, esc(g.name), chartLabelW, y+14, esc(g.key.title), dir)
	y += chartHeadH - 8
	top := 0.0
	for _, r := range g.rows {
		top = max(top, g.key.value(r))
	}
	span := float64(chartWidth - chartLabelW - chartValueW)
	for _, r := range g.rows {
		v := g.key.value(r)
		wid := 0.0
		if top > 0 {
			wid = v / top * span
		}
		fill := "#8fa7c9"
		if r.Label == subject {
			fill = "#d9822b"
		}
		text := num(v) + " " + g.key.title
		if !r.OK {
			fill, text = "#ccc", text+" (FAIL)"
		}
		if r.ClientBottleneck {
			text += " ⚠ client-bound"
		}
		fmt.Fprintf(w, `<text x="10" y="%d">%s</text>`, y+13, esc(rowName(r)))
		fmt.Fprintf(w, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`, chartLabelW, y, wid, chartBarH, fill)
		fmt.Fprintf(w, `<text x="%.1f" y="%d" fill="#333">%s</text>`+"\n", float64(chartLabelW)+wid+6, y+13, esc(text))
		y += chartBarH + chartGap
	}
	return y + 10
}

func esc(s string) string { return html.EscapeString(s) }
