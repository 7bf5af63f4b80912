package transforms

import (
	"bytes"

	"github.com/tidwall/gjson"
)

// readRunBody is the list reader the BadRun change uses: readRunList or
// readRunListGJSON, which are measured side by side.
var readRunBody = readRunList

// readRunListGJSON is readRunList built on gjson: gjson.ValidBytes validates,
// then ForEach walks the top level, the elements of "data" and each run's
// members, placing every span by Result.Index. It reads the same runList
// with the same rule.
func readRunListGJSON(body []byte, degradeEdits *editor) (runList, bodyShape) {
	g := gjsonReader{body: body, degrade: degradeEdits}
	hint := len(body)/1024 + 4
	g.l.items, g.l.bad, g.l.ids = make([]span, 0, hint), make([]bool, 0, hint), make([][]byte, 0, hint)
	return g.read()
}

type gjsonReader struct {
	body    []byte
	l       runList
	shape   bodyShape
	ok      bool
	run     runState
	degrade *editor

	seenData, seenLinks, seenMeta bool
}

// span is where r, a result taken from the one string copy of the body, sits
// in the body.
func (g *gjsonReader) span(r gjson.Result) span { return span{r.Index, r.Index + len(r.Raw)} }

func (g *gjsonReader) read() (runList, bodyShape) {
	if !gjson.ValidBytes(g.body) {
		return g.l, notRunBody
	}
	// One copy of the body: gjson results taken from it are substrings, so
	// their Index fields are offsets into the body too.
	root := gjson.Parse(string(g.body))
	if !root.IsObject() {
		return g.l, notRunBody
	}
	g.ok = true
	root.ForEach(g.rootField)
	if !g.ok {
		return g.l, notRunBody
	}
	return g.l, g.shape
}

func (g *gjsonReader) rootField(key, value gjson.Result) bool {
	c := byteAt(g.body, value.Index)
	switch {
	case !g.seenData && key.Str == "data":
		g.seenData = true
		switch c {
		case '[':
			g.shape = listBody
			value.ForEach(g.element)
		case '{':
			g.shape = runBody
			g.addRun(value)
		}
	case !g.seenLinks && c == '{' && key.Str == "links":
		g.seenLinks = true
		value.ForEach(g.linksField)
	case !g.seenMeta && c == '{' && key.Str == "meta":
		g.seenMeta = true
		value.ForEach(g.metaField)
	}
	return g.ok
}

func (g *gjsonReader) element(_, run gjson.Result) bool {
	if !run.IsObject() {
		g.ok = false
		return false
	}
	g.addRun(run)
	return true
}

func (g *gjsonReader) addRun(run gjson.Result) {
	g.run.reset()
	run.ForEach(g.runField)
	g.l.items = append(g.l.items, g.span(run))
	g.l.bad = append(g.l.bad, g.run.bad)
	g.l.ids = append(g.l.ids, g.run.id)
	if g.run.bad {
		g.l.nBad++
		if g.degrade != nil {
			g.degrade.removeItems(g.run.members, g.run.markers)
		}
	}
}

// runField applies the BadRun rule to one member; gjson unescapes key.Str.
func (g *gjsonReader) runField(key, value gjson.Result) bool {
	marker := false
	switch key.Str {
	case "id":
		s := g.span(value)
		g.run.id = jsonString(g.body[s.start:s.end])
	case "ok":
		g.run.bad = g.run.bad || value.Type == gjson.False
		marker = true
	case "dataError":
		g.run.bad, marker = true, true
	}
	if g.degrade != nil {
		g.run.members = append(g.run.members, span{key.Index, value.Index + len(value.Raw)})
		g.run.markers = append(g.run.markers, marker)
	}
	return true
}

func (g *gjsonReader) linksField(key, value gjson.Result) bool {
	isCurrent := key.Str == "current"
	if isCurrent && value.IsObject() {
		value.ForEach(g.hrefField)
	}
	g.l.links = append(g.l.links, span{key.Index, value.Index + len(value.Raw)})
	g.l.current = append(g.l.current, isCurrent)
	return true
}

func (g *gjsonReader) hrefField(key, value gjson.Result) bool {
	if key.Str == "href" {
		s := g.span(value)
		if id, found := bytes.CutPrefix(jsonString(g.body[s.start:s.end]), []byte("/runs/")); found && len(id) > 0 {
			g.l.currentID = id
		}
	}
	return true
}

func (g *gjsonReader) metaField(key, value gjson.Result) bool {
	if !g.l.hasTotal && value.Type == gjson.Number && key.Str == "totalLength" {
		g.l.total, g.l.hasTotal = g.span(value), true
	}
	return true
}
