package transforms

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// The helpers here read run bodies with encoding/json only, independently of
// the gjson-based code under test, so the tests can state what a correct
// output is without reusing the code they check.

// member is one member of a JSON object: its key (unescaped) and the raw bytes
// of its value exactly as written.
type member struct {
	key string
	raw json.RawMessage
}

// objectMembers lists the members of the JSON object raw in order, duplicate
// keys included; ok is false when raw is not one JSON object.
func objectMembers(raw []byte) (ms []member, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, isKey := tok.(string)
		if !isKey {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		ms = append(ms, member{key, v})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); err == nil { // something after the object
		return nil, false
	}
	return ms, true
}

// arrayElements lists the raw elements of the JSON array raw.
func arrayElements(raw []byte) ([]json.RawMessage, bool) {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil || elems == nil {
		return nil, false
	}
	return elems, true
}

// oracleRun is a run element as the oracle sees it.
type oracleRun struct {
	raw json.RawMessage
	id  string // the (last) id member's string value, "" if not a string
	bad bool   // an "ok" member is false or a "dataError" member is present
	ms  []member
}

// readRun classifies one element; ok is false when it is not an object.
func readRun(raw json.RawMessage) (r oracleRun, ok bool) {
	ms, ok := objectMembers(raw)
	if !ok {
		return r, false
	}
	r.raw, r.ms = raw, ms
	for _, m := range ms {
		switch m.key {
		case "id":
			var id string
			if json.Unmarshal(m.raw, &id) == nil {
				r.id = id
			}
		case "ok":
			if string(m.raw) == "false" {
				r.bad = true
			}
		case "dataError":
			r.bad = true
		}
	}
	return r, true
}

// stripped is the run without its ok and dataError members, compared as
// decoded values.
func (r oracleRun) stripped() map[string]any {
	out := map[string]any{}
	for _, m := range r.ms {
		if m.key == "ok" || m.key == "dataError" {
			continue
		}
		var v any
		if err := json.Unmarshal(m.raw, &v); err != nil {
			panic(err) // the member was valid inside a valid object
		}
		out[m.key] = v
	}
	return out
}

// pyStripped renders the run without ok and dataError the way robot-server
// (Python's json.dumps) would: valid for runs written in that formatting with
// plain ASCII keys, as every golden input is.
func (r oracleRun) pyStripped() []byte {
	var parts []string
	for _, m := range r.ms {
		if m.key == "ok" || m.key == "dataError" {
			continue
		}
		parts = append(parts, strconv.Quote(m.key)+": "+string(m.raw))
	}
	return []byte("{" + strings.Join(parts, ", ") + "}")
}

// oracleList is a run list body split into its top-level parts.
type oracleList struct {
	runs      []oracleRun
	links     json.RawMessage // nil when absent
	currentID string          // links.current.href without "/runs/"; "" when none
}

// readList reads {"data": [RUN...], "links"?: {...}, ...}. ok is false when
// the body is not such a list (data not an array of objects, or a duplicate
// top-level key, which the oracle does not try to model).
func readList(body []byte) (l oracleList, ok bool) {
	ms, ok := objectMembers(body)
	if !ok {
		return l, false
	}
	seen := map[string]bool{}
	var data json.RawMessage
	for _, m := range ms {
		if seen[m.key] {
			return l, false
		}
		seen[m.key] = true
		switch m.key {
		case "data":
			data = m.raw
		case "links":
			l.links = m.raw
		}
	}
	elems, ok := arrayElements(data)
	if !ok {
		return l, false
	}
	for _, e := range elems {
		r, ok := readRun(e)
		if !ok {
			return l, false
		}
		l.runs = append(l.runs, r)
	}
	if l.links != nil {
		var links struct {
			Current *struct {
				Href *string `json:"href"`
			} `json:"current"`
		}
		if json.Unmarshal(l.links, &links) == nil && links.Current != nil && links.Current.Href != nil {
			l.currentID, _ = strings.CutPrefix(*links.Current.Href, "/runs/")
		}
	}
	return l, true
}

// find returns the first run with this id.
func (l oracleList) find(id string) (oracleRun, bool) {
	for _, r := range l.runs {
		if r.id == id {
			return r, true
		}
	}
	return oracleRun{}, false
}

// hasBad reports whether the list has a bad run.
func (l oracleList) hasBad() bool {
	for _, r := range l.runs {
		if r.bad {
			return true
		}
	}
	return false
}

// lastGood returns the last n good runs (all good runs when n < 0), in order.
func (l oracleList) lastGood(n int) []oracleRun {
	var good []oracleRun
	for _, r := range l.runs {
		if !r.bad {
			good = append(good, r)
		}
	}
	if n >= 0 && len(good) > n {
		good = good[len(good)-n:]
	}
	return good
}

// pyList renders a run list the way robot-server does, from raw elements and
// raw links (nil: no links member).
func pyList(runs []json.RawMessage, links []byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"data": [`)
	for i, r := range runs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.Write(r)
	}
	b.WriteString("]")
	if links != nil {
		b.WriteString(`, "links": `)
		b.Write(links)
	}
	b.WriteString(`, "meta": {"cursor": 0, "totalLength": ` + strconv.Itoa(len(runs)) + `}}`)
	return b.Bytes()
}

// decodeAny decodes JSON for semantic comparisons.
func decodeAny(raw []byte) (any, error) {
	var v any
	err := json.Unmarshal(raw, &v)
	return v, err
}
