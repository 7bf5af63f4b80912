// Package transforms holds the chain of version changes: each one undoes one
// backward-incompatible change of the API, turning a response of its version
// into the shape of the version before it. It works on bytes only; the proxy
// does all network I/O.
package transforms

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/go-version"
)

// Change is one backward-incompatible change of the API.
type Change interface {
	// Name is a short stable identifier for logs, metrics and explain headers.
	Name() string
	// Version is the API version that introduced the change.
	Version() *version.Version
	// Description is the one-line changelog entry.
	Description() string
	// Applies reports whether the change touches responses of this route
	// (path is the decoded URL path).
	Applies(method, path string) bool
	// Downgrade turns a 2xx response of the change's version into the shape of
	// the version before it. It must not modify in.Body.
	Downgrade(in *Input) (Outcome, error)
}

// Input is one upstream response as a change sees it.
type Input struct {
	Method string
	Path   string // decoded URL path
	Query  string // raw query string
	Status int
	Body   []byte
	// Fetched is the extra upstream response a change asked for with
	// Outcome.Fetch; nil on the first call.
	Fetched *Fetched
}

// Fetched is an extra GET answer from the upstream. The proxy hands it over as
// the upstream sent it; Plan.Apply gives each change its own version's form
// of it, having passed it through the newer changes of the plan first.
type Fetched struct {
	Path   string // path with query, as asked in Outcome.Fetch
	Status int
	Body   []byte
}

// Outcome is what a change did to a response.
type Outcome struct {
	// Body is the new body; nil means unchanged.
	Body *Body
	// Status is the new status; 0 means unchanged.
	Status int
	// ErrorBody marks Body as a robot-server error envelope, so the proxy gives
	// it the headers robot-server puts on errors.
	ErrorBody bool
	// Fetch, when set, asks the proxy to GET this path (with query) from the
	// upstream with the client's headers and to call Downgrade again with the
	// answer in Input.Fetched. The change decides nothing else on that call.
	Fetch string
	// Records counts the records the change acted on, by action
	// (for example "hidden"), for metrics and logs.
	Records []Record
}

// Record counts what a change did to records of a response.
type Record struct {
	Change string // set by Plan.Apply
	Action string
	Count  int
}

// Changed reports whether the response differs from the upstream's.
func (o Outcome) Changed() bool { return o.Body != nil || o.Status != 0 }

// Chain is the ordered list of version changes, newest first.
type Chain struct {
	changes []Change
}

// NewChain orders changes newest first.
func NewChain(changes ...Change) *Chain {
	cs := append([]Change(nil), changes...)
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Version().GreaterThan(cs[j].Version()) })
	return &Chain{changes: cs}
}

// Changes lists the chain, newest first.
func (c *Chain) Changes() []Change { return c.changes }

// Newest is the version of the newest change, or nil for an empty chain.
func (c *Chain) Newest() *version.Version {
	if len(c.changes) == 0 {
		return nil
	}
	return c.changes[0].Version()
}

// Plan lists the changes to undo for a client at version client on this route,
// newest first. A nil client (the newest version) gets none, and so does any
// route no change touches: those responses stream through untouched.
func (c *Chain) Plan(client *version.Version, method, path string) Plan {
	if client == nil {
		return nil
	}
	var p Plan
	for _, ch := range c.changes {
		if !ch.Version().GreaterThan(client) {
			break
		}
		if ch.Applies(method, path) {
			p = append(p, ch)
		}
	}
	return p
}

// Plan is the changes one response goes through, newest first.
type Plan []Change

// Apply runs the plan's changes over in, each on the previous one's output.
// It stops early when a change turns the response into an error (older
// changes only reshape successes) or asks for a fetch. applied names the
// changes that altered the response.
//
// A fetched answer (in.Fetched) reaches each change in that change's form:
// it passes through every newer change of the plan first, so that what a
// change builds from it carries their edits too.
func (p Plan) Apply(in Input) (out Outcome, applied []Change, err error) {
	for i, ch := range p {
		if out.Body != nil {
			// Only a change that follows another reads its body as one
			// slice; the last change's body streams from its pieces.
			in.Body = out.Body.Bytes()
		}
		if i > 0 && in.Fetched != nil {
			if in.Fetched, err = downgradeFetched(p[i-1], in.Fetched); err != nil {
				return out, applied, err
			}
		}
		o, err := ch.Downgrade(&in)
		if err != nil {
			return out, applied, err
		}
		if o.Fetch != "" {
			return o, applied, nil
		}
		for _, r := range o.Records {
			r.Change = ch.Name()
			out.Records = append(out.Records, r)
		}
		if !o.Changed() {
			continue
		}
		applied = append(applied, ch)
		if o.Body != nil {
			out.Body = o.Body
		}
		if o.Status != 0 {
			in.Status, out.Status = o.Status, o.Status
		}
		if o.ErrorBody || in.Status < 200 || in.Status > 299 {
			out.ErrorBody = o.ErrorBody
			break
		}
	}
	return out, applied, nil
}

// downgradeFetched is f in the form of the version before ch: ch applied to
// it as to a GET of its path. Only 2xx answers are reshaped, as for the
// response itself; f is returned as is when ch leaves it unchanged. A change
// may not ask for a fetch of its own here: the proxy makes only one.
func downgradeFetched(ch Change, f *Fetched) (*Fetched, error) {
	path, query, _ := strings.Cut(f.Path, "?")
	if f.Status/100 != 2 || !ch.Applies("GET", path) {
		return f, nil
	}
	o, err := ch.Downgrade(&Input{Method: "GET", Path: path, Query: query, Status: f.Status, Body: f.Body})
	if err != nil {
		return nil, fmt.Errorf("%s on the fetched %s: %w", ch.Name(), f.Path, err)
	}
	if o.Fetch != "" {
		return nil, fmt.Errorf("%s asked to fetch %s while reading the fetched %s", ch.Name(), o.Fetch, f.Path)
	}
	if !o.Changed() {
		return f, nil
	}
	g := *f
	if o.Status != 0 {
		g.Status = o.Status
	}
	if o.Body != nil {
		g.Body = o.Body.Bytes()
	}
	return &g, nil
}
