package transforms

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"otcompat/negotiate"
)

// fullListPath is asked of the upstream when bad runs took places in a
// pageLength window: the full list has the older good runs that fill it.
const fullListPath = "/runs"

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
func (b *BadRun) downgradeList(in *Input, l runList, e *editor) (Outcome, error) {
	if b.policy == Degrade {
		if e.empty() {
			return Outcome{}, nil
		}
		return Outcome{Body: e.body(in.Body), Records: []Record{{Action: ActionDegraded, Count: l.nBad}}}, nil
	}
	window := pageLength(in.Query)
	src, fromFull := in.Body, false
	if f := in.Fetched; f != nil && f.Path == fullListPath && f.Status/100 == 2 {
		if full, shape := readRunList(f.Body, false); shape == listBody {
			src, fromFull, l = f.Body, true, full
		}
	}
	curFound, curBad := l.state(l.currentID)
	if in.Fetched == nil && window >= 0 {
		// Bad runs took places in a full window: older good runs may fill them.
		if l.nBad > 0 && len(l.items) >= window {
			return Outcome{Fetch: fullListPath}, nil
		}
		// The window does not show the current run: ask whether it is bad.
		if len(l.currentID) > 0 && !curFound {
			return Outcome{Fetch: "/runs/" + string(l.currentID)}, nil
		}
	}
	if f := in.Fetched; len(l.currentID) > 0 && !curFound && f != nil && f.Path == "/runs/"+string(l.currentID) {
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
	// totalLength counts the runs kept once some are dropped; a list that
	// loses none keeps the upstream's, whatever it says.
	if total := strconv.Itoa(kept); kept < len(drop) && l.hasTotal && string(src[l.total.start:l.total.end]) != total {
		e.replace(l.total, []byte(total))
	}
	if curBad {
		e.removeItems(l.links, l.current)
	}
	if e.empty() && !fromFull {
		return Outcome{}, nil
	}
	return Outcome{Body: e.body(src), Records: []Record{{Action: ActionHidden, Count: l.nBad}}}, nil
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
	if f.Status/100 != 2 {
		return false
	}
	l, shape := readRunList(f.Body, false)
	return shape == runBody && l.bad[0]
}
