package compare

import (
	_ "embed"
	"encoding/json"
	"html/template"
	"io"
	"strings"
)

//go:embed report.html.tmpl
var htmlSource string

// page is self-contained: inline CSS, no scripts, fonts, images or links,
// so it opens the same from a CI artifact, a mail or a laptop offline.
var page = template.Must(template.New("report").Parse(htmlSource))

type htmlPage struct {
	*Report
	VersionList string
	Paths       []htmlPath
}

type htmlPath struct {
	*PathReport
	Upstream bool
	Columns  []htmlColumn // target then upstream answer of each version
	Runs     []htmlRunRow // every run of the path against every column
	Diffs    []htmlDiff
}

type htmlColumn struct {
	Label    string
	Upstream bool
	Answer
	// Changed marks the fields that differ from the previous version.
	Changed map[string]bool
	Body    string
}

type htmlRunRow struct {
	ID    string
	Cells []htmlRunCell
}

type htmlRunCell struct{ Class, Mark string }

type htmlDiff struct {
	Diff
	Title     string
	Lines     []htmlLine
	PatchJSON string
}

type htmlLine struct{ Class, Text string }

// WriteHTML renders the report as one self-contained HTML page: versions
// side by side, differences highlighted, bodies and diffs collapsible.
func WriteHTML(w io.Writer, r *Report) error {
	p := htmlPage{Report: r}
	var vs []string
	for _, v := range r.Versions {
		vs = append(vs, v.Version)
	}
	p.VersionList = strings.Join(vs, ", ")
	for i := range r.Paths {
		p.Paths = append(p.Paths, newHTMLPath(&r.Paths[i]))
	}
	return page.Execute(w, p)
}

// htmlLabel names an answer's column: "version 3", or "App-8.1.0 (version 3)".
func htmlLabel(a Answer) string {
	if a.Client != "" {
		return a.Client + " (version " + a.Version + ")"
	}
	return "version " + a.Version
}

func newHTMLPath(pr *PathReport) htmlPath {
	hp := htmlPath{PathReport: pr, Upstream: len(pr.Upstream) > 0}
	var lists [][]string
	for _, a := range append(append([]Answer(nil), pr.Answers...), pr.Upstream...) {
		lists = append(lists, runIDs(a.Runs))
	}
	order := mergeOrder(lists...)
	for i, a := range pr.Answers {
		var prev *Answer
		if i > 0 {
			prev = &pr.Answers[i-1]
		}
		hp.Columns = append(hp.Columns, newColumn(htmlLabel(a), false, a, prev))
		if hp.Upstream {
			u := pr.Upstream[i]
			hp.Columns = append(hp.Columns, newColumn("upstream, "+htmlLabel(u), true, u, &pr.Answers[i]))
		}
	}
	for _, id := range order {
		row := htmlRunRow{ID: id}
		for _, c := range hp.Columns {
			row.Cells = append(row.Cells, runCell(c.Runs, id))
		}
		hp.Runs = append(hp.Runs, row)
	}
	for _, d := range pr.Diffs {
		hd := htmlDiff{Diff: d, Title: d.From + " → " + d.To}
		if d.Kind == DiffUpstream {
			hd.Title = "upstream → target at version " + d.To
		}
		for _, line := range strings.Split(strings.TrimSuffix(d.Unified, "\n"), "\n") {
			if line != "" {
				hd.Lines = append(hd.Lines, htmlLine{lineClass(line), line})
			}
		}
		if len(d.Patch) > 0 {
			b, _ := json.MarshalIndent(d.Patch, "", "  ")
			hd.PatchJSON = string(b)
		}
		hp.Diffs = append(hp.Diffs, hd)
	}
	return hp
}

// newColumn lays out one answer; against, if set, is the answer it is
// compared with for highlighting.
func newColumn(label string, upstream bool, a Answer, against *Answer) htmlColumn {
	c := htmlColumn{Label: label, Upstream: upstream, Answer: a, Changed: map[string]bool{}, Body: readable(a.body)}
	if against != nil {
		c.Changed["status"] = a.Status != against.Status
		c.Changed["served"] = a.ServedVersion != against.ServedVersion
		c.Changed["type"] = a.ContentType != against.ContentType
		c.Changed["size"] = a.Size != against.Size || a.SHA256 != against.SHA256
	}
	return c
}

func runCell(runs []RunMark, id string) htmlRunCell {
	for _, r := range runs {
		if r.ID == id && r.Bad {
			return htmlRunCell{"bad", "BAD"}
		}
		if r.ID == id {
			return htmlRunCell{"good", "good"}
		}
	}
	return htmlRunCell{"hidden", "not seen"}
}

func lineClass(line string) string {
	switch {
	case strings.HasPrefix(line, "---"), strings.HasPrefix(line, "+++"):
		return "file"
	case strings.HasPrefix(line, "@@"):
		return "hunk"
	case strings.HasPrefix(line, "+"):
		return "add"
	case strings.HasPrefix(line, "-"):
		return "del"
	}
	return "ctx"
}
