package compare

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// ANSI styles for a terminal.
const (
	bold   = "\x1b[1m"
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	cyan   = "\x1b[36m"
	reset  = "\x1b[0m"
)

type textWriter struct {
	w     *bufio.Writer
	color bool
}

func (t *textWriter) paint(style, s string) string {
	if !t.color || style == "" || s == "" {
		return s
	}
	return style + s + reset
}

func (t *textWriter) printf(format string, args ...any) { fmt.Fprintf(t.w, format, args...) }

// cell is a table cell with the style to paint it in.
type cell struct{ text, style string }

// table prints rows aligned in columns, padding before painting so escape
// codes do not throw the columns off.
func (t *textWriter) table(indent string, rows [][]cell) {
	var widths []int
	for _, row := range rows {
		for i, c := range row {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c.text))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		b.WriteString(indent)
		for i, c := range row {
			pad := ""
			if i < len(row)-1 {
				pad = strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c.text)+2)
			}
			b.WriteString(t.paint(c.style, c.text) + pad)
		}
		t.printf("%s\n", b.String())
	}
}

// WriteText renders the report as a table per path, the runs each version
// sees, a summary per version, then the diffs. color adds ANSI colours.
func WriteText(w io.Writer, r *Report, color bool) error {
	t := &textWriter{w: bufio.NewWriter(w), color: color}
	t.printf("%s %s", t.paint(bold, "otcompat compare:"), r.Method)
	var vs, clients []string
	if len(r.Paths) > 0 {
		for _, a := range r.Paths[0].Answers {
			if a.Client != "" {
				clients = append(clients, fmt.Sprintf("%s (version %s)", a.Client, a.Version))
			} else {
				vs = append(vs, a.Version)
			}
		}
	}
	t.printf(" at versions %s", strings.Join(vs, ", "))
	if clients != nil {
		t.printf(", as clients %s", strings.Join(clients, ", "))
	}
	t.printf(", target %s", r.Target)
	if r.Direct != "" {
		t.printf(", upstream %s", r.Direct)
	}
	t.printf("\n")
	for _, pr := range r.Paths {
		t.path(r.Method, pr)
	}
	t.summary(r)
	t.diffs(r)
	return t.w.Flush()
}

func (t *textWriter) path(method string, pr PathReport) {
	t.printf("\n%s\n", t.paint(bold, method+" "+pr.Path))
	// The rule column is there when the target names client rules.
	withRule := slices.ContainsFunc(pr.Answers, func(a Answer) bool { return a.Rule != "" })
	head := []cell{{"version", bold}, {"status", bold}, {"Opentrons-Version", bold}, {"served", bold}}
	if withRule {
		head = append(head, cell{"rule", bold})
	}
	rows := [][]cell{append(head, cell{"applied", bold}, cell{"content-type", bold}, cell{"bytes", bold}, cell{"runs", bold})}
	add := func(label string, a Answer) {
		runs := "-"
		if pr.Kind != KindOther {
			runs = fmt.Sprintf("%d (%d bad)", len(a.Runs), countBad(a.Runs))
		}
		status := cell{fmt.Sprint(a.Status), ""}
		if a.Status >= 400 {
			status.style = red
		}
		row := []cell{{label, ""}, status, {dash(a.ServedVersion), ""}, {dash(a.ExplainServed), ""}}
		if withRule {
			row = append(row, cell{dash(a.Rule), ""})
		}
		rows = append(rows, append(row, cell{dash(a.Applied), ""}, cell{dash(a.ContentType), ""},
			cell{fmt.Sprint(a.Size), ""}, cell{runs, ""}))
	}
	for _, a := range pr.Answers {
		add(a.Label(), a)
	}
	for _, u := range pr.Upstream {
		add("upstream@"+u.Label(), u)
	}
	t.table("  ", rows)
	if pr.Kind != KindOther {
		t.runMatrix(pr)
	}
}

// runMatrix shows every run of the path against every answer: good, BAD,
// or - where that answer does not have it.
func (t *textWriter) runMatrix(pr PathReport) {
	answers := append(append([]Answer(nil), pr.Answers...), pr.Upstream...)
	var lists [][]string
	for _, a := range answers {
		lists = append(lists, runIDs(a.Runs))
	}
	ids := mergeOrder(lists...)
	if len(ids) == 0 {
		t.printf("  no runs\n")
		return
	}
	head := []cell{{"run", bold}}
	for i, a := range answers {
		label := a.Label()
		if i >= len(pr.Answers) {
			label = "upstream@" + a.Label()
		}
		head = append(head, cell{label, bold})
	}
	rows := [][]cell{head}
	for _, id := range ids {
		row := []cell{{id, ""}}
		for _, a := range answers {
			c := cell{"-", yellow}
			for _, run := range a.Runs {
				if run.ID == id {
					c = cell{"good", green}
					if run.Bad {
						c = cell{"BAD", red}
					}
				}
			}
			row = append(row, c)
		}
		rows = append(rows, row)
	}
	t.printf("\n")
	t.table("  ", rows)
	t.printf("  (good, BAD: seen; -: not seen)\n")
}

func (t *textWriter) summary(r *Report) {
	t.printf("\n%s\n", t.paint(bold, "Runs per version (all paths)"))
	for _, v := range r.Versions {
		t.printf("  %s: sees %d (%d bad)", v.Version, len(v.SeenRunIDs), len(v.BadRunIDs))
		t.printf(", hidden %d%s", len(v.HiddenRunIDs), t.idList(v.HiddenRunIDs))
		if r.Direct != "" {
			t.printf(", not passed on from upstream %d%s", len(v.HiddenFromUpstreamRunIDs), t.idList(v.HiddenFromUpstreamRunIDs))
		}
		t.printf("\n")
	}
}

func (t *textWriter) idList(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ": " + t.paint(yellow, strings.Join(ids, " "))
}

func (t *textWriter) diffs(r *Report) {
	t.printf("\n%s\n", t.paint(bold, "Differences"))
	found := false
	for _, pr := range r.Paths {
		for _, d := range pr.Diffs {
			from, to := d.From, d.To
			if d.Kind == DiffUpstream {
				from, to = "upstream@"+d.From, "target@"+d.To
			}
			if !d.Differ {
				t.printf("  %s %s: %s = %s: same\n", r.Method, pr.Path, from, to)
				continue
			}
			found = true
			t.printf("\n%s\n", t.paint(bold, fmt.Sprintf("%s %s: %s -> %s: status %d -> %d, %d patch operations",
				r.Method, pr.Path, from, to, d.FromStatus, d.ToStatus, len(d.Patch))))
			for _, op := range d.Patch {
				t.printf("  %s\n", strings.TrimSpace(op.Type+" "+op.Path+" "+abbreviate(op.Value)))
			}
			t.unified(d.Unified)
		}
	}
	if !found {
		t.printf("  no differences\n")
	}
	if f := r.FailOnDiff; f != nil {
		verdict := t.paint(green, "answer the same")
		if f.Differ {
			verdict = t.paint(red, "answer differently: "+strings.Join(f.Paths, " "))
		}
		t.printf("\n--fail-on-diff %s,%s: versions %s and %s %s\n", f.A, f.B, f.A, f.B, verdict)
	}
}

func (t *textWriter) unified(u string) {
	for _, line := range strings.SplitAfter(u, "\n") {
		if line == "" {
			continue
		}
		style := ""
		switch {
		case strings.HasPrefix(line, "---"), strings.HasPrefix(line, "+++"):
			style = bold
		case strings.HasPrefix(line, "@@"):
			style = cyan
		case strings.HasPrefix(line, "+"):
			style = green
		case strings.HasPrefix(line, "-"):
			style = red
		}
		t.printf("    %s\n", t.paint(style, strings.TrimSuffix(line, "\n")))
	}
}

// abbreviate shows a patch value on one short line.
func abbreviate(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	const limit = 100
	if s := []rune(string(b)); len(s) > limit {
		return string(s[:limit]) + "…"
	}
	return string(b)
}

func countBad(runs []RunMark) int {
	n := 0
	for _, r := range runs {
		if r.Bad {
			n++
		}
	}
	return n
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
