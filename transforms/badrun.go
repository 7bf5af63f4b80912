package transforms

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/go-version"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Policy says what clients older than the BadRun change see of bad runs.
type Policy string

const (
	// Hide removes bad runs from lists and answers them as RunNotFound.
	Hide Policy = "hide"
	// Error removes bad runs from lists and answers them with HTTP 500, as
	// robot-server did before BadRun existed.
	Error Policy = "error"
	// Degrade keeps bad runs as plain stopped runs without ok and dataError.
	Degrade Policy = "degrade"
)

// Policies lists the valid policies, default first.
var Policies = []Policy{Hide, Error, Degrade}

// ParsePolicy reads a policy name.
func ParsePolicy(s string) (Policy, error) {
	for _, p := range Policies {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown BadRun policy %q (allowed: hide, error, degrade)", s)
}

// Record actions of the BadRun change, as counted in Outcome.Records.
const (
	ActionHidden   = "hidden"
	ActionErrored  = "errored"
	ActionDegraded = "degraded"
)

// BadRun undoes robot-server's BadRun records: runs whose stored data could
// not be loaded, listed with "ok": false and a dataError instead of failing
// the whole request. Clients older than its version never saw such records.
type BadRun struct {
	version *version.Version
	policy  Policy
}

// NewBadRun returns the change introduced in version v with the given policy.
func NewBadRun(v *version.Version, p Policy) *BadRun { return &BadRun{version: v, policy: p} }

func (*BadRun) Name() string                { return badRunName }
func (b *BadRun) Version() *version.Version { return b.version }
func (*BadRun) Description() string {
	return "Runs whose stored data cannot be loaded are returned as BadRuns (ok: false, dataError) instead of failing the request."
}

// badRunName is the built-in change's name; declared changes cannot take it.
const badRunName = "badrun"

// badRunRoutes are every route that answers run records.
var badRunRoutes = mustRoutes("GET /runs", "POST /runs", "GET /runs/{id}", "PATCH /runs/{id}")

// Applies covers every route that answers run records.
func (*BadRun) Applies(method, path string) bool { return badRunRoutes.matches(method, path) }

// Routes lists the routes the change touches.
func (*BadRun) Routes() []string { return badRunRoutes.texts() }

// Downgrade rewrites a run list or a single run for an older client. Bodies
// that are not valid JSON of the expected shape come back unchanged.
func (b *BadRun) Downgrade(in *Input) (Outcome, error) {
	if in.Status/100 != 2 {
		return Outcome{}, nil
	}
	l, shape := readRunList(in.Body, b.policy == Degrade)
	e := l.strip // empty unless the policy is degrade
	switch shape {
	case listBody:
		return b.downgradeList(in, l, &e)
	case runBody:
		return b.downgradeRun(in.Body, l, &e), nil
	}
	return Outcome{}, nil
}

// downgradeRun answers a single run ({"data": RUN}, read into l as its one
// item) per policy; e holds the degrade edits readRunList queued.
func (b *BadRun) downgradeRun(body []byte, l runList, e *editor) Outcome {
	if !l.bad[0] {
		return Outcome{}
	}
	switch b.policy {
	case Hide:
		return Outcome{Status: 404, Body: BodyOf(RunNotFound(string(l.ids[0]))), ErrorBody: true,
			Records: []Record{{Action: ActionHidden, Count: 1}}}
	case Error:
		run := l.items[0]
		return Outcome{Status: 500, Body: BodyOf(runDataError(body[run.start:run.end])), ErrorBody: true,
			Records: []Record{{Action: ActionErrored, Count: 1}}}
	}
	return Outcome{Body: e.body(body), Records: []Record{{Action: ActionDegraded, Count: 1}}}
}

// runNotFoundTemplate is robot-server's 404 body for an unknown run, compact
// as its error bodies are; the detail names the run.
const runNotFoundTemplate = `{"errors":[{"id":"RunNotFound","title":"Run Not Found","detail":"","errorCode":"4000"}]}`

// RunNotFound is robot-server's 404 body for a run id it does not have.
func RunNotFound(id string) []byte {
	body, err := sjson.SetBytes([]byte(runNotFoundTemplate), "errors.0.detail",
		"Error 4000 GENERAL_ERROR (RunNotFoundError): Run "+id+" was not found.")
	if err != nil {
		panic(err) // the template is constant and valid
	}
	return body
}

// fallbackDataError stands in for a run marked "ok": false without a dataError,
// a shape robot-server never sends but a body could hold.
const fallbackDataError = `{"id":"RunDataError","title":"Run Data Error","detail":"This run's stored data could not be loaded.","errorCode":"4008"}`

// runDataError is the 500 body servers before BadRun gave for a bad run (a
// validated run object): the run's own dataError as the error.
func runDataError(run []byte) []byte {
	de := gjson.GetBytes(run, "dataError")
	raw := de.Raw
	if !de.IsObject() {
		raw = fallbackDataError
	}
	// robot-server's error bodies are compact JSON.
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(raw)); err != nil {
		panic(err) // raw is a JSON object from a validated body
	}
	body, err := sjson.SetRawBytes([]byte(`{"errors":[]}`), "errors.-1", compact.Bytes())
	if err != nil {
		panic(err)
	}
	return body
}
