package compare

import (
	"context"
	"slices"
)

// Run asks every path at every version and builds the report. A source
// that gives no answer at all ends the run with a *ConnError.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	r := &Report{Schema: Schema, Target: o.Target.Name, Method: o.Method}
	if o.Direct != nil {
		r.Direct = o.Direct.Name
	}
	cols := columns(o)
	for _, path := range o.Paths {
		pr := PathReport{Path: path, Kind: kindOf(path)}
		for _, col := range cols {
			a, err := fetch(ctx, o.Target, o.Method, path, col, o.Header, true)
			if err != nil {
				return nil, err
			}
			pr.Answers = append(pr.Answers, a)
			if o.Direct != nil {
				u, err := fetch(ctx, *o.Direct, o.Method, path, col, o.Header, false)
				if err != nil {
					return nil, err
				}
				pr.Upstream = append(pr.Upstream, u)
			}
		}
		pr.readRuns()
		pr.diffs(o.FailOnDiff)
		r.Paths = append(r.Paths, pr)
	}
	labels := make([]string, len(cols))
	for i, c := range cols {
		labels[i] = c.label()
	}
	r.summarise(labels)
	r.judge(o.FailOnDiff)
	return r, nil
}

// column is one way of asking: a version, or a client.
type column struct {
	version, client string
	userAgent       string
	setUA           bool // false: net/http's own User-Agent
}

func (c column) label() string {
	if c.client != "" {
		return c.client
	}
	return c.version
}

// columns are the versions, then the clients, in the order given.
func columns(o Options) []column {
	var cols []column
	for _, v := range o.Versions {
		cols = append(cols, column{version: v, userAgent: o.UserAgent, setUA: o.UserAgent != ""})
	}
	for _, c := range o.Clients {
		cols = append(cols, column{version: c.Version, client: c.Name, userAgent: c.UserAgent, setUA: true})
	}
	return cols
}

// readRuns names the runs of each answer and what each does not see.
func (pr *PathReport) readRuns() {
	if pr.Kind == KindOther {
		return
	}
	var union []string
	for _, as := range [][]Answer{pr.Answers, pr.Upstream} {
		for i := range as {
			as[i].Runs = runsOf(pr.Kind, as[i].Status, as[i].body)
		}
	}
	for _, a := range pr.Answers {
		union = addNew(union, runIDs(a.Runs)...)
	}
	for i := range pr.Answers {
		a := &pr.Answers[i]
		a.HiddenRunIDs = missing(union, runIDs(a.Runs))
		if pr.Upstream != nil {
			a.HiddenFromUpstreamRunIDs = missing(runIDs(pr.Upstream[i].Runs), runIDs(a.Runs))
		}
	}
}

// diffs compares consecutive versions, the --fail-on-diff pair, and each
// version's answer with the upstream's.
func (pr *PathReport) diffs(pair []string) {
	pairs := [][2]int{}
	for i := 1; i < len(pr.Answers); i++ {
		pairs = append(pairs, [2]int{i - 1, i})
	}
	if pair != nil {
		p := [2]int{pr.index(pair[0]), pr.index(pair[1])}
		if !slices.Contains(pairs, p) {
			pairs = append(pairs, p)
		}
	}
	pr.Diffs = []Diff{}
	for _, p := range pairs {
		a, b := pr.Answers[p[0]], pr.Answers[p[1]]
		pr.Diffs = append(pr.Diffs, diff(DiffVersions, a, b, a.Label(), b.Label()))
	}
	for i, u := range pr.Upstream {
		a := pr.Answers[i]
		pr.Diffs = append(pr.Diffs, diff(DiffUpstream, u, a, "upstream@"+u.Label(), "target@"+a.Label()))
	}
}

func (pr *PathReport) index(version string) int {
	return slices.IndexFunc(pr.Answers, func(a Answer) bool { return a.Label() == version })
}

// summarise gathers each version's runs over all paths.
func (r *Report) summarise(versions []string) {
	for i, v := range versions {
		s := VersionSummary{Version: v, SeenRunIDs: []string{}, BadRunIDs: []string{}, HiddenRunIDs: []string{}}
		var hidden, fromUpstream []string
		for _, pr := range r.Paths {
			if pr.Kind == KindOther {
				continue
			}
			a := pr.Answers[i]
			s.SeenRunIDs = addNew(s.SeenRunIDs, runIDs(a.Runs)...)
			for _, run := range a.Runs {
				if run.Bad {
					s.BadRunIDs = addNew(s.BadRunIDs, run.ID)
				}
			}
			hidden = addNew(hidden, a.HiddenRunIDs...)
			fromUpstream = addNew(fromUpstream, a.HiddenFromUpstreamRunIDs...)
		}
		// A run a window left out is not hidden if another path shows it.
		s.HiddenRunIDs = addNew(s.HiddenRunIDs, missing(hidden, s.SeenRunIDs)...)
		if r.Direct != "" {
			s.HiddenFromUpstreamRunIDs = addNew([]string{}, missing(fromUpstream, s.SeenRunIDs)...)
		}
		r.Versions = append(r.Versions, s)
	}
}

// judge sets Differences and the --fail-on-diff verdict.
func (r *Report) judge(pair []string) {
	if pair != nil {
		r.FailOnDiff = &FailOnDiff{A: pair[0], B: pair[1], Paths: []string{}}
	}
	for _, pr := range r.Paths {
		for _, d := range pr.Diffs {
			if !d.Differ {
				continue
			}
			r.Differences = true
			if f := r.FailOnDiff; f != nil && d.Kind == DiffVersions &&
				(d.From == f.A && d.To == f.B || d.From == f.B && d.To == f.A) {
				f.Differ = true
				f.Paths = addNew(f.Paths, pr.Path)
			}
		}
	}
}
