package transforms

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"otcompat/negotiate"
)

// fullListPath is asked of the upstream when bad runs took places in a
// pageLength window: the full list has the older good runs that fill it.
const fullListPath = "/runs"

// listParts are the top-level members of a run list the change reads,
// found in one pass over the body.
type listParts struct {
	data, links, meta gjson.Result
}

func readListParts(body []byte) (p listParts) {
	gjson.Parse(view(body)).ForEach(func(key, value gjson.Result) bool {
		switch { // the first of duplicate keys counts, as with gjson.Get
		case key.Str == "data" && !p.data.Exists():
			p.data = value
		case key.Str == "links" && !p.links.Exists():
			p.links = value
		case key.Str == "meta" && !p.meta.Exists():
			p.meta = value
		}
		return true
	})
	return p
}

// runList is a GET /runs body and what the change found in it.
type runList struct {
	body  []byte
	items []span // the elements of "data"
	bad   []bool
	ids   []string
	nBad  int
}

// scanList reads a run list; ok is false when it is not one. Under degrade,
// it also queues the removal of ok and dataError from each bad run.
func scanList(body []byte, data gjson.Result, degrade *editor) (l runList, ok bool) {
	l.body = body
	if !data.IsArray() {
		return l, false
	}
	// Size the per-run slices once instead of regrowing them run by run:
	// robot-server's runs are rarely under 1 KB (0.3-10 KB), so the hint
	// covers the list in one allocation each, for about 3% of the body's size.
	hint := len(data.Raw)/1024 + 4
	l.items = make([]span, 0, hint)
	l.bad = make([]bool, 0, hint)
	l.ids = make([]string, 0, hint)
	r := run{members: make([]span, 0, 24), drop: make([]bool, 0, 24)} // a run has 17-18 members
	ok = true
	data.ForEach(func(_, value gjson.Result) bool {
		s, sok := spanOf(value)
		if !sok || !value.IsObject() || !scanRun(value, &r) {
			ok = false
			return false
		}
		l.items = append(l.items, s)
		l.bad = append(l.bad, r.bad)
		l.ids = append(l.ids, r.id)
		if r.bad {
			l.nBad++
			if degrade != nil {
				r.degrade(degrade)
			}
		}
		return true
	})
	return l, ok
}

// currentLink is links.current.href's run id and the member's span in links.
type currentLink struct {
	id      string
	links   []span // members of "links"
	current []bool // true for the "current" member
}

func readCurrentLink(links gjson.Result) (c currentLink, ok bool) {
	if !links.IsObject() {
		return c, true // no links: nothing to fix
	}
	c.links, ok = memberSpans(links, nil, func(_ int, key, value gjson.Result) {
		isCurrent := key.Str == "current"
		if isCurrent {
			if id, found := strings.CutPrefix(value.Get("href").Str, "/runs/"); found {
				c.id = id
			}
		}
		c.current = append(c.current, isCurrent)
	})
	return c, ok
}

// state says whether the list shows the run id, and if it is bad.
func (l *runList) state(id string) (found, bad bool) {
	for i, rid := range l.ids {
		if rid == id {
			return true, l.bad[i]
		}
	}
	return false, false
}

// pageLength is the client's ?pageLength (the last one, as FastAPI reads
// it), or -1 when absent or not a window.
func pageLength(rawQuery string) int {
	if !strings.Contains(rawQuery, "pageLength") {
		return -1
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return -1
	}
	vs := q["pageLength"]
	if len(vs) == 0 {
		return -1
	}
	n, ok := negotiate.ParseInt(vs[len(vs)-1])
	if !ok || n < 0 {
		return -1
	}
	return n
}

// downgradeList removes bad runs from GET /runs (or, under degrade, strips
// them to plain runs), recounts meta.totalLength, drops links.current when it
// names a bad run, and keeps a pageLength window full of good runs.
func (b *BadRun) downgradeList(in *Input, parts listParts) (Outcome, error) {
	var e editor
	var degrade *editor
	if b.policy == Degrade {
		degrade = &e
	}
	window := pageLength(in.Query)
	src, fromFull := in.Body, false
	if f := in.Fetched; f != nil && f.Path == fullListPath && f.Status/100 == 2 && gjson.ValidBytes(f.Body) {
		if full := readListParts(f.Body); full.data.IsArray() {
			src, fromFull, parts = f.Body, true, full
		}
	}
	l, ok := scanList(src, parts.data, degrade)
	if !ok {
		return Outcome{}, nil
	}
	if degrade != nil {
		if e.empty() {
			return Outcome{}, nil
		}
		return Outcome{Body: e.apply(src), Records: []Record{{Action: ActionDegraded, Count: l.nBad}}}, nil
	}

	cur, ok := readCurrentLink(parts.links)
	if !ok {
		return Outcome{}, nil
	}
	curFound, curBad := l.state(cur.id)
	if in.Fetched == nil && window >= 0 {
		// Bad runs took places in a full window: older good runs may fill them.
		if l.nBad > 0 && len(l.items) >= window {
			return Outcome{Fetch: fullListPath}, nil
		}
		// The window does not show the current run: ask whether it is bad.
		if cur.id != "" && !curFound {
			return Outcome{Fetch: "/runs/" + cur.id}, nil
		}
	}
	if f := in.Fetched; cur.id != "" && !curFound && f != nil && f.Path == "/runs/"+cur.id {
		curBad = fetchedRunIsBad(f)
	}

	drop := l.bad
	if fromFull {
		keepLastGood(drop, window)
	}
	kept := 0
	for _, d := range drop {
		if !d {
			kept++
		}
	}
	e.edits = slices.Grow(e.edits, l.nBad+3) // one per group of dropped runs, totalLength, links
	e.removeItems(l.items, drop)
	if total := parts.meta.Get("totalLength"); total.Type == gjson.Number {
		if s, sok := spanOf(total); sok && total.Raw != strconv.Itoa(kept) {
			e.replace(s, strconv.Itoa(kept))
		}
	}
	if curBad {
		e.removeItems(cur.links, cur.current)
	}
	if e.empty() && !fromFull {
		return Outcome{}, nil
	}
	return Outcome{Body: e.apply(src), Records: []Record{{Action: ActionHidden, Count: l.nBad}}}, nil
}

// keepLastGood marks for dropping every good run but the last n (n < 0: all
// stay). drop holds the bad runs marked already.
func keepLastGood(drop []bool, n int) {
	if n < 0 {
		return
	}
	for i := len(drop) - 1; i >= 0; i-- {
		if drop[i] {
			continue
		}
		if n > 0 {
			n--
		} else {
			drop[i] = true
		}
	}
}

// fetchedRunIsBad reads a fetched GET /runs/{id}: only a run the upstream
// shows as bad counts as bad.
func fetchedRunIsBad(f *Fetched) bool {
	if f.Status/100 != 2 || !gjson.ValidBytes(f.Body) {
		return false
	}
	data := gjson.Get(view(f.Body), "data")
	var r run
	return data.IsObject() && scanRun(data, &r) && r.bad
}
