package transforms

import "encoding/json"

// runList is a run list ({"data": [RUN...], "links": ..., "meta": ...}) read
// in one validating pass: where each run is, its id and whether it is bad,
// and the parts of links and meta the change may rewrite.
type runList struct {
	items []span // the elements of "data"
	bad   []bool
	ids   []string // views into the body
	nBad  int

	links     []span // the members of "links"
	current   []bool // marks the "current" member among them
	currentID string // the run links.current.href names, or ""

	total    span // the value of meta.totalLength, when it is a number
	hasTotal bool
}

// bodyShape is what a 2xx body of a run route turned out to be.
type bodyShape int

const (
	notRunBody bodyShape = iota // invalid JSON, or not shaped like a run body
	listBody                    // {"data": [RUN...], ...}
	runBody                     // {"data": RUN}
)

// readRunList validates body and, when it is a run list, reads it. Under the
// degrade policy (degradeEdits set) it also queues the removal of "ok" and
// "dataError" from each bad run.
func readRunList(body []byte, degradeEdits *editor) (l runList, shape bodyShape) {
	s := scanner{b: body}
	v := view(body)
	// Sized once: robot-server's runs are rarely under 1 KB, so this covers
	// a list without regrowing, for about 3% of the body's size.
	hint := len(body)/1024 + 4
	l.items, l.bad, l.ids = make([]span, 0, hint), make([]bool, 0, hint), make([]string, 0, hint)

	// One run's state while its members are read.
	var id string
	var bad bool
	var members []span
	var drop []bool
	runField := func(m jsonMember) (int, bool) {
		end, ok := s.value(m.valueStart)
		if !ok {
			return end, false
		}
		marker := false // "ok" or "dataError": what degrade removes
		switch m.name() {
		case "id":
			id = jsonString(v[m.valueStart:end])
		case "ok":
			bad = bad || v[m.valueStart:end] == "false"
			marker = true
		case "dataError":
			bad, marker = true, true
		}
		if degradeEdits != nil {
			members = append(members, span{m.start, end})
			drop = append(drop, marker)
		}
		return end, true
	}
	run := func(start int) (int, bool) {
		if byteAt(body, start) != '{' {
			return start, false // not a run
		}
		id, bad, members, drop = "", false, members[:0], drop[:0]
		end, ok := s.object(start, runField)
		if !ok {
			return end, false
		}
		l.items = append(l.items, span{start, end})
		l.bad = append(l.bad, bad)
		l.ids = append(l.ids, id)
		if bad {
			l.nBad++
			if degradeEdits != nil {
				degradeEdits.removeItems(members, drop)
			}
		}
		return end, true
	}
	hrefField := func(m jsonMember) (int, bool) {
		end, ok := s.value(m.valueStart)
		if ok && m.name() == "href" {
			if href := jsonString(v[m.valueStart:end]); len(href) > len("/runs/") && href[:len("/runs/")] == "/runs/" {
				l.currentID = href[len("/runs/"):]
			}
		}
		return end, ok
	}
	linksField := func(m jsonMember) (int, bool) {
		isCurrent := m.name() == "current"
		var end int
		var ok bool
		if isCurrent && byteAt(body, m.valueStart) == '{' {
			end, ok = s.object(m.valueStart, hrefField)
		} else {
			end, ok = s.value(m.valueStart)
		}
		l.links = append(l.links, span{m.start, end})
		l.current = append(l.current, isCurrent)
		return end, ok
	}
	metaField := func(m jsonMember) (int, bool) {
		end, ok := s.value(m.valueStart)
		if ok && m.name() == "totalLength" && !l.hasTotal && isNumberStart(byteAt(body, m.valueStart)) {
			l.total, l.hasTotal = span{m.valueStart, end}, true
		}
		return end, ok
	}
	var seenData, seenLinks, seenMeta bool // the first of duplicate keys counts
	rootField := func(m jsonMember) (int, bool) {
		switch c, name := byteAt(body, m.valueStart), m.name(); {
		case !seenData && name == "data":
			seenData = true
			switch c {
			case '[':
				shape = listBody
				return s.array(m.valueStart, run)
			case '{':
				shape = runBody
			}
		case !seenLinks && c == '{' && name == "links":
			seenLinks = true
			return s.object(m.valueStart, linksField)
		case !seenMeta && c == '{' && name == "meta":
			seenMeta = true
			return s.object(m.valueStart, metaField)
		}
		return s.value(m.valueStart)
	}
	i := s.skipSpace(0)
	if byteAt(body, i) != '{' {
		return l, notRunBody
	}
	end, ok := s.object(i, rootField)
	if !ok || s.skipSpace(end) != len(body) {
		return l, notRunBody
	}
	return l, shape
}

func byteAt(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}

func isNumberStart(c byte) bool { return c == '-' || (c >= '0' && c <= '9') }

// jsonString is the text of a validated JSON string (quotes included in raw);
// it is raw's own bytes unless the string holds an escape.
func jsonString(raw string) string {
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	inner := raw[1 : len(raw)-1]
	for i := 0; i < len(inner); i++ {
		if inner[i] == '\\' {
			var s string
			_ = json.Unmarshal([]byte(raw), &s)
			return s
		}
	}
	return inner
}

// state says whether the list shows the run id, and if it is bad. No id
// (no current link) names no run, not even one written without an id.
func (l *runList) state(id string) (found, bad bool) {
	if id == "" {
		return false, false
	}
	for i, rid := range l.ids {
		if rid == id {
			return true, l.bad[i]
		}
	}
	return false, false
}
