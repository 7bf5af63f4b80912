// Package bench holds the load benchmark of otcompat (bench/run) and its
// in-process benchmarks: the bodies the benchmark upstream serves, so that
// the driver and the benchmarks check against the very same bytes.
package bench

import (
	"strconv"

	"otcompat/fixtures"
)

// A Scenario names one run list the benchmark upstream can serve at /runs.
type Scenario struct {
	Name       string
	Runs, Bad  int
	CurrentBad bool
}

// The benchmark lists: what a robot keeps (~57 KB, 20 runs, 3 bad, the
// current run bad), a long-lived heavy history (~3.5 MB, 200 runs, 20 bad),
// and the robot the App-traffic rows poll: as many runs and bad runs as the
// first, but with a good current run, so an old App polls the current run
// and its commands through the proxy as it does directly.
var (
	List57k  = Scenario{Name: "57k", Runs: 20, Bad: 3, CurrentBad: true}
	List3_5M = Scenario{Name: "3.5M", Runs: 200, Bad: 20, CurrentBad: false}
	ListApp  = Scenario{Name: "app", Runs: 20, Bad: 3, CurrentBad: false}
)

// Scenarios lists the lists by name.
var Scenarios = map[string]Scenario{List57k.Name: List57k, List3_5M.Name: List3_5M, ListApp.Name: ListApp}

// Store generates the scenario's run store (the same on every call).
func (s Scenario) Store() *fixtures.Store { return fixtures.Generate(s.Runs, s.Bad, s.CurrentBad) }

// ListBody is GET /runs as the upstream renders it.
func (s Scenario) ListBody() []byte { return s.Store().ListBody(-1) }

// FilteredBody is GET /runs as robot-server would render it had the bad
// runs never existed: exactly what otcompat must give an old client.
func (s Scenario) FilteredBody() []byte {
	st := s.Store()
	for _, id := range st.BadIDs() {
		if err := st.Delete(id); err != nil {
			panic("bench: deleting a generated bad run: " + err.Error())
		}
	}
	return st.ListBody(-1)
}

// GoodIDs are the ids an old client must see, oldest first.
func (s Scenario) GoodIDs() []string {
	st := s.Store()
	bad := map[string]bool{}
	for _, id := range st.BadIDs() {
		bad[id] = true
	}
	var good []string
	for _, id := range st.IDs() {
		if !bad[id] {
			good = append(good, id)
		}
	}
	return good
}

// BigPath is where the benchmark upstream serves BigBody: a route no version
// change touches, so otcompat streams it through.
const BigPath = "/protocols/big/analyses"

// BigBody is a deterministic JSON document of at least n bytes shaped like a
// protocol analysis (a long command list), rendered as robot-server renders.
func BigBody(n int) []byte {
	b := make([]byte, 0, n+1024)
	b = append(b, `{"data": [{"id": "big-analysis", "status": "completed", "result": "ok", "commands": [`...)
	for i := 0; len(b) < n; i++ {
		if i > 0 {
			b = append(b, ", "...)
		}
		id := strconv.Itoa(i)
		b = append(b, `{"id": "command-`...)
		b = append(b, id...)
		b = append(b, `", "createdAt": "2026-09-28T07:30:00.`...)
		b = append(b, strconv.Itoa(100000+i%900000)...)
		b = append(b, `+00:00", "commandType": "aspirate", "key": "`...)
		b = append(b, id...)
		b = append(b, `", "status": "succeeded", "params": {"pipetteId": "pipette-0", "labwareId": "labware-2", "wellName": "A`...)
		b = append(b, strconv.Itoa(1+i%12)...)
		b = append(b, `", "wellLocation": {"origin": "bottom", "offset": {"x": 0.0, "y": 0.0, "z": 1.0}}, "volume": 50.0, "flowRate": 92.86}, "result": {"position": {"x": 14.38, "y": 74.24, "z": 1.0}, "volume": 50.0}, "startedAt": "2026-09-28T07:30:01.000000+00:00", "completedAt": "2026-09-28T07:30:01.500000+00:00"}`...)
	}
	return append(b, `], "errors": []}], "meta": {"cursor": 0, "totalLength": 1}}`...)
}

// BigBytes is the size of the pass-through body the benchmark uses.
const BigBytes = 5 << 20
