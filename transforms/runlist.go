package transforms

import (
	"bytes"
	"encoding/json"
)

// runList is a run body read in one validating pass: where each run is, its
// id and whether it is bad, and the parts of links and meta the change may
// rewrite. For a list ({"data": [RUN...], ...}) items holds the elements of
// "data"; for a single run ({"data": RUN}) it holds that one run, read by the
// same code, so a run is judged the same alone and in a list.
type runList struct {
	items []span
	bad   []bool
	ids   [][]byte // views into the body, or decoded copies of escaped ids
	nBad  int

	links     []span // the members of "links"
	current   []bool // marks the "current" member among them
	currentID []byte // the run links.current.href names, or nil

	total    span // the value of meta.totalLength, when it is a number
	hasTotal bool

	// strip, under the degrade policy, removes "ok" and "dataError" from
	// each bad run.
	strip editor
}

// bodyShape is what a 2xx body of a run route turned out to be.
type bodyShape int

const (
	notRunBody bodyShape = iota // invalid JSON, or not shaped like a run body
	listBody                    // {"data": [RUN...], ...}
	runBody                     // {"data": RUN}
)

// readRunList validates body and, when it is a run list or a single run,
// reads it. Under the degrade policy it also queues in runList.strip the
// removal of "ok" and "dataError" from each bad run.
func readRunList(body []byte, degrade bool) (runList, bodyShape) {
	r := listReader{s: scanner{b: body}, degrade: degrade}
	// Sized once: robot-server's runs are rarely under 1 KB, so this covers
	// a list without regrowing, for about 4% of the body's size.
	hint := len(body)/1024 + 4
	r.l.items, r.l.bad, r.l.ids = make([]span, 0, hint), make([]bool, 0, hint), make([][]byte, 0, hint)
	return r.read()
}

// listReader holds the state of one readRunList pass. Each method reads one
// level of the body; the first of duplicate top-level keys counts.
type listReader struct {
	s       scanner
	l       runList
	shape   bodyShape
	run     runState
	degrade bool

	seenData, seenLinks, seenMeta bool
}

// read reads the whole body: one object, with nothing but blanks around it.
func (r *listReader) read() (runList, bodyShape) {
	i := r.s.skipSpace(0)
	if byteAt(r.s.b, i) != '{' {
		return r.l, notRunBody
	}
	end, ok := r.s.object(i, r.rootField)
	if !ok || r.s.skipSpace(end) != len(r.s.b) {
		return r.l, notRunBody
	}
	return r.l, r.shape
}

// rootField reads a top-level member: data, links and meta are looked into,
// anything else is only validated.
func (r *listReader) rootField(m jsonMember) (int, bool) {
	c := byteAt(r.s.b, m.valueStart)
	switch {
	case !r.seenData && m.is("data"):
		r.seenData = true
		switch c {
		case '[':
			r.shape = listBody
			return r.s.array(m.valueStart, r.element)
		case '{':
			r.shape = runBody
			return r.addRun(m.valueStart)
		}
	case !r.seenLinks && c == '{' && m.is("links"):
		r.seenLinks = true
		return r.s.object(m.valueStart, r.linksField)
	case !r.seenMeta && c == '{' && m.is("meta"):
		r.seenMeta = true
		return r.s.object(m.valueStart, r.metaField)
	}
	return r.s.value(m.valueStart)
}

// element reads one element of "data": it must be a run object.
func (r *listReader) element(start int) (int, bool) {
	if byteAt(r.s.b, start) != '{' {
		return start, false // not a run
	}
	return r.addRun(start)
}

// addRun reads the run object at start and adds it to the list. Every run,
// listed or alone, is judged here.
func (r *listReader) addRun(start int) (int, bool) {
	r.run.reset()
	end, ok := r.s.object(start, r.runField)
	if !ok {
		return end, false
	}
	r.l.items = append(r.l.items, span{start, end})
	r.l.bad = append(r.l.bad, r.run.bad)
	r.l.ids = append(r.l.ids, r.run.id)
	if r.run.bad {
		r.l.nBad++
		if r.degrade {
			r.l.strip.removeItems(r.run.members, r.run.markers)
		}
	}
	return end, true
}

// runField reads one member of a run. It holds the one rule of what a
// BadRun is: an "ok" member that is false, or a "dataError" member, keys
// compared after unescaping and every duplicate counting.
func (r *listReader) runField(m jsonMember) (int, bool) {
	end, ok := r.s.value(m.valueStart)
	if !ok {
		return end, false
	}
	marker := false
	switch {
	case m.is("id"):
		r.run.id = jsonString(r.s.b[m.valueStart:end])
	case m.is("ok"):
		r.run.bad = r.run.bad || string(r.s.b[m.valueStart:end]) == "false"
		marker = true
	case m.is("dataError"):
		r.run.bad, marker = true, true
	}
	if r.degrade {
		r.run.members = append(r.run.members, span{m.start, end})
		r.run.markers = append(r.run.markers, marker)
	}
	return end, true
}

// linksField reads a member of "links", noting which one is "current".
func (r *listReader) linksField(m jsonMember) (int, bool) {
	isCurrent := m.is("current")
	var end int
	var ok bool
	if isCurrent && byteAt(r.s.b, m.valueStart) == '{' {
		end, ok = r.s.object(m.valueStart, r.hrefField)
	} else {
		end, ok = r.s.value(m.valueStart)
	}
	r.l.links = append(r.l.links, span{m.start, end})
	r.l.current = append(r.l.current, isCurrent)
	return end, ok
}

// hrefField reads a member of links.current: an href of /runs/{id} names
// the current run.
func (r *listReader) hrefField(m jsonMember) (int, bool) {
	end, ok := r.s.value(m.valueStart)
	if ok && m.is("href") {
		href := jsonString(r.s.b[m.valueStart:end])
		if id, found := bytes.CutPrefix(href, []byte("/runs/")); found && len(id) > 0 {
			r.l.currentID = id
		}
	}
	return end, ok
}

// metaField reads a member of "meta": the first numeric totalLength counts.
func (r *listReader) metaField(m jsonMember) (int, bool) {
	end, ok := r.s.value(m.valueStart)
	if ok && !r.l.hasTotal && isNumberStart(byteAt(r.s.b, m.valueStart)) && m.is("totalLength") {
		r.l.total, r.l.hasTotal = span{m.valueStart, end}, true
	}
	return end, ok
}

// runState is what runField learns of the run being read.
type runState struct {
	id  []byte // the last "id" member's string, nil if none or not a string
	bad bool

	// Under degrade, the run's members from key to value, and which of them
	// are "ok" or "dataError" (what degrade removes).
	members []span
	markers []bool
}

func (rs *runState) reset() {
	rs.id, rs.bad, rs.members, rs.markers = nil, false, rs.members[:0], rs.markers[:0]
}

func byteAt(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}

func isNumberStart(c byte) bool { return c == '-' || (c >= '0' && c <= '9') }

// jsonString is the content of a validated JSON string raw (quotes
// included), or nil when raw is not a string. It is raw's own bytes unless
// the string holds an escape; then it is a decoded copy.
func jsonString(raw []byte) []byte {
	if len(raw) < 2 || raw[0] != '"' {
		return nil
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil
	}
	return []byte(s)
}

// state says whether the list shows the run id, and if it is bad. No id
// (no current link) names no run, not even one written without an id.
func (l *runList) state(id []byte) (found, bad bool) {
	if len(id) == 0 {
		return false, false
	}
	for i, rid := range l.ids {
		if bytes.Equal(rid, id) {
			return true, l.bad[i]
		}
	}
	return false, false
}
