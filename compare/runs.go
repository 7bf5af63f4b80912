package compare

import (
	"encoding/json"
	"slices"
	"strings"
)

// kindOf says whether a path is a run list (/runs) or a single run
// (/runs/{id}); only those carry runs to name.
func kindOf(path string) string {
	p, _, _ := strings.Cut(path, "?")
	p = strings.TrimSuffix(p, "/")
	switch {
	case p == "/runs":
		return KindRunList
	case strings.HasPrefix(p, "/runs/") && !strings.Contains(p[len("/runs/"):], "/"):
		return KindRun
	}
	return KindOther
}

type runFields struct {
	ID        string          `json:"id"`
	OK        *bool           `json:"ok"`
	DataError json.RawMessage `json:"dataError"`
}

// bad is the BadRun rule: ok is false, or a dataError key is present.
func (r runFields) bad() bool { return r.OK != nil && !*r.OK || r.DataError != nil }

// runsOf reads the runs of a run list ({"data": [RUN...]}) or a single run
// ({"data": RUN}); anything else (an error body, not JSON) has none.
func runsOf(kind string, status int, body []byte) []RunMark {
	if status/100 != 2 || kind == KindOther {
		return nil
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(body, &env) != nil {
		return nil
	}
	var runs []runFields
	if kind == KindRunList {
		if json.Unmarshal(env.Data, &runs) != nil {
			return nil
		}
	} else {
		var one runFields
		if json.Unmarshal(env.Data, &one) != nil {
			return nil
		}
		runs = []runFields{one}
	}
	out := make([]RunMark, 0, len(runs))
	for _, r := range runs {
		if r.ID != "" {
			out = append(out, RunMark{ID: r.ID, Bad: r.bad()})
		}
	}
	return out
}

func runIDs(runs []RunMark) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	return ids
}

// mergeOrder merges id lists into one order that keeps each list's order
// where it can: the longest list first, then each missing id after the id
// that precedes it in its own list.
func mergeOrder(lists ...[]string) []string {
	var longest []string
	for _, l := range lists {
		if len(l) > len(longest) {
			longest = l
		}
	}
	out := slices.Clone(longest)
	for _, l := range lists {
		for i, id := range l {
			if slices.Contains(out, id) {
				continue
			}
			at := 0
			if i > 0 {
				at = slices.Index(out, l[i-1]) + 1
			}
			out = slices.Insert(out, at, id)
		}
	}
	return out
}

// missing lists the ids of want not in have, in want's order.
func missing(want, have []string) []string {
	var out []string
	for _, id := range want {
		if !slices.Contains(have, id) {
			out = append(out, id)
		}
	}
	return out
}

// addNew appends the ids of add not yet in to.
func addNew(to []string, add ...string) []string {
	for _, id := range add {
		if !slices.Contains(to, id) {
			to = append(to, id)
		}
	}
	return to
}
