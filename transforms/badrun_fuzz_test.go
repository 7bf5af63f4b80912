package transforms

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// upstreamFunc answers the extra GETs a change asks for: status and body, or
// ok=false when the test has no answer.
type upstreamFunc func(path string) (status int, body []byte, ok bool)

// applied is the response after the BadRun change, as the proxy would send it.
type applied struct {
	status  int
	body    []byte
	changed bool
	fetches []string
}

var fuzzPolicies = []Policy{Hide, Error, Degrade}

// applyBadRun runs the BadRun change for a client at version 3, serving its
// fetches from up. It fails the test on an error, on a fetch up cannot
// answer, on a second fetch, and when the input body was modified.
func applyBadRun(t *testing.T, p Policy, method, path, query string, status int, body []byte, up upstreamFunc) applied {
	t.Helper()
	plan := NewChain(NewBadRun(v("5"), p)).Plan(v("3"), method, path)
	if len(plan) != 1 {
		t.Fatalf("no plan for %s %s", method, path)
	}
	out, fetches := applyLikeProxy(t, plan, Input{Method: method, Path: path, Query: query, Status: status, Body: body}, up)
	res := applied{status: status, body: body, changed: out.Changed(), fetches: fetches}
	if out.Status != 0 {
		res.status = out.Status
	}
	if out.Body != nil {
		res.body = read(t, out.Body)
	}
	return res
}

// applyLikeProxy applies plan to in as the proxy does: when a change asks
// for a fetch, up answers it and the plan is applied again with the answer.
// It fails the test on an error, on a fetch up cannot answer, on a second
// fetch, and when the input body was modified.
func applyLikeProxy(t *testing.T, plan Plan, in Input, up upstreamFunc) (out Outcome, fetches []string) {
	t.Helper()
	orig := bytes.Clone(in.Body)
	out, _, err := plan.Apply(in)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if out.Fetch != "" {
		fetches = append(fetches, out.Fetch)
		st, b, ok := 0, []byte(nil), false
		if up != nil {
			st, b, ok = up(out.Fetch)
		}
		if !ok {
			t.Fatalf("%s %s?%s: unexpected fetch of %q", in.Method, in.Path, in.Query, out.Fetch)
		}
		in.Fetched = &Fetched{Path: out.Fetch, Status: st, Body: b}
		if out, _, err = plan.Apply(in); err != nil {
			t.Fatalf("Apply after fetch: %v", err)
		}
		if out.Fetch != "" {
			t.Fatalf("second fetch %q after %q", out.Fetch, in.Fetched.Path)
		}
	}
	if !bytes.Equal(in.Body, orig) {
		t.Fatalf("Downgrade modified the input body")
	}
	return out, fetches
}

// addSeeds adds every golden input and every recorded robot-server body.
func addSeeds(f *testing.F, add func(body []byte)) {
	for _, pattern := range []string{
		filepath.Join(goldenInputs, "*"),
		filepath.Join(recordings, "upstream", "*.body"),
		filepath.Join(recordings, "expected-hide", "*.body"),
	} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, ".py") {
				continue
			}
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			add(b)
		}
	}
	// Shapes worth mutating from.
	for _, s := range []string{
		`{"data": [{"id": "a", "ok": false}, {"id": "b"}], "links": {"current": {"href": "/runs/a"}}, "meta": {"cursor": 0, "totalLength": 2}}`,
		`{"data":[{"id":"a","dataError":{}},{"id":"b","ok":true}],"links":{},"meta":{"cursor":0,"totalLength":2}}`,
		"{\n \"data\": [\n  {\"id\": \"a\", \"ok\": false},\n  {\"id\": \"b\"}\n ]\n}",
		`{"data": {"id": "a", "ok": false, "dataError": "x"}}`,
		`{"data": {"id": "a\"b", "ok": false}}`,
		`{"data": [{"id": "a", "ok": false, "ok": true}, {"id": "a"}], "data": []}`,
		// Escaped keys (robot-server writes none) still name the members.
		`{"d\u0061ta": [{"\u0069d": "a", "d\u0061taError": {}}, {"id": "b", "\u006fk": false}, {"id": "c"}], "links": {"curr\u0065nt": {"hr\u0065f": "/runs/b"}}, "meta": {"tot\u0061lLength": 3}}`,
		`{"data": {"id": "a", "\u006fk": false}}`,
		`{"data": {"id": "a", "ok": true, "\u006f\u006b": false}}`,
		`{"d\u0061ta": {"\u0069d": "a", "d\u0061taError": {"id": "RunDataError"}}}`,
	} {
		add([]byte(s))
	}
}

// topMember is the value of the first member named key.
func topMember(ms []member, key string) json.RawMessage {
	for _, m := range ms {
		if m.key == key {
			return m.raw
		}
	}
	return nil
}

// totalLength is the raw meta.totalLength (first "meta", its first
// "totalLength") when it is a number, else nil.
func totalLength(body []byte) json.RawMessage {
	ms, _ := objectMembers(body)
	mms, _ := objectMembers(topMember(ms, "meta"))
	raw := topMember(mms, "totalLength")
	var num json.Number
	if raw == nil || json.Unmarshal(raw, &num) != nil {
		return nil
	}
	return raw
}

func sameJSON(a, b []byte) bool {
	va, errA := decodeAny(a)
	vb, errB := decodeAny(b)
	return errA == nil && errB == nil && reflect.DeepEqual(va, vb)
}

// checkOthersKept checks that the top-level members of out are those of in,
// in order, byte for byte, except the ones named in skip.
func checkOthersKept(t *testing.T, in, out []member, skip ...string) {
	t.Helper()
	if len(in) != len(out) {
		t.Fatalf("top-level members: %d in the output, %d in the input", len(out), len(in))
	}
	for i := range in {
		if in[i].key != out[i].key {
			t.Fatalf("top-level member %d is %q, was %q", i, out[i].key, in[i].key)
		}
		if !contains(skip, in[i].key) && !bytes.Equal(in[i].raw, out[i].raw) {
			t.Errorf("top-level member %q changed:\n in  %.200s\n out %.200s", in[i].key, in[i].raw, out[i].raw)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// noDuplicateKeys reports whether the object's keys are unique.
func noDuplicateKeys(ms []member) bool {
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.key] {
			return false
		}
		seen[m.key] = true
	}
	return true
}

// codeCurrentID is links.current.href's run id as the change reads it: the
// last "current" member, its first "href" if a string, without "/runs/".
func codeCurrentID(links json.RawMessage) string {
	ms, ok := objectMembers(links)
	if !ok {
		return ""
	}
	id := ""
	for _, m := range ms {
		if m.key != "current" {
			continue
		}
		id = ""
		cms, ok := objectMembers(m.raw)
		if !ok {
			continue
		}
		for _, cm := range cms {
			if cm.key == "href" {
				var href string
				if json.Unmarshal(cm.raw, &href) == nil {
					id = strings.TrimPrefix(href, "/runs/")
				}
				break
			}
		}
	}
	return id
}

// checkListOutput states what a GET /runs output must be for a list input
// (no window): under hide and error, exactly the good runs, byte for byte;
// under degrade, every run, the good ones byte for byte and the bad ones
// without ok and dataError; totalLength recounted when runs are removed;
// links.current dropped only when it names a bad run of the list.
func checkListOutput(t *testing.T, p Policy, in []byte, r applied) {
	t.Helper()
	inMs, ok := objectMembers(in)
	if !ok || !noDuplicateKeys(inMs) {
		return
	}
	l, ok := readList(in)
	if !ok {
		return
	}
	if r.status != 200 {
		t.Fatalf("status %d for a list", r.status)
	}
	outMs, ok := objectMembers(r.body)
	if !ok {
		t.Fatalf("output is not an object: %.300s", r.body)
	}
	outList, ok := readList(r.body)
	if !ok {
		t.Fatalf("output is not a run list: %.300s", r.body)
	}
	curID := codeCurrentID(l.links)
	cur, curFound := l.find(curID)
	curBad := curID != "" && curFound && cur.bad

	var want []oracleRun
	for _, run := range l.runs {
		if p == Degrade || !run.bad {
			want = append(want, run)
		}
	}
	if len(outList.runs) != len(want) {
		t.Fatalf("%d runs in the output, want %d", len(outList.runs), len(want))
	}
	for i, w := range want {
		got := outList.runs[i]
		switch {
		case !w.bad:
			if !bytes.Equal(got.raw, w.raw) {
				t.Fatalf("good run %d changed:\n in  %.300s\n out %.300s", i, w.raw, got.raw)
			}
		case !reflect.DeepEqual(got.stripped(), w.stripped()) || got.bad:
			t.Fatalf("bad run %d not degraded to itself without ok and dataError:\n in  %.300s\n out %.300s", i, w.raw, got.raw)
		}
	}
	if p == Degrade {
		checkOthersKept(t, inMs, outMs, "data")
		if !l.hasBad() && r.changed {
			t.Errorf("changed a list without bad runs")
		}
		return
	}
	checkOthersKept(t, inMs, outMs, "data", "meta", "links")
	if !l.hasBad() && !curBad && r.changed {
		t.Errorf("changed a list without bad runs")
	}
	// meta: only a numeric totalLength changes, to the count.
	inMeta, outMeta := topMember(inMs, "meta"), topMember(outMs, "meta")
	if im, ok := objectMembers(inMeta); ok {
		om, ok := objectMembers(outMeta)
		if !ok || len(im) != len(om) {
			t.Fatalf("meta reshaped: %s -> %s", inMeta, outMeta)
		}
		for i := range im {
			var num json.Number
			if im[i].key == "totalLength" && json.Unmarshal(im[i].raw, &num) == nil && num != "" {
				// Recounted once runs are removed; else as the upstream wrote it.
				wantTotal := string(im[i].raw)
				if len(want) < len(l.runs) {
					wantTotal = strconv.Itoa(len(want))
				}
				if string(om[i].raw) != wantTotal {
					t.Errorf("meta.totalLength %s, want %s", om[i].raw, wantTotal)
				}
			} else if !bytes.Equal(im[i].raw, om[i].raw) || im[i].key != om[i].key {
				t.Errorf("meta member %q changed: %s -> %s", im[i].key, im[i].raw, om[i].raw)
			}
		}
	} else if !bytes.Equal(inMeta, outMeta) {
		t.Errorf("meta changed: %s -> %s", inMeta, outMeta)
	}
	// links: only the current member goes, when it names a bad run.
	inLinks, outLinks := topMember(inMs, "links"), topMember(outMs, "links")
	if lm, ok := objectMembers(inLinks); ok {
		var wantLinks []member
		for _, m := range lm {
			if !(curBad && m.key == "current") {
				wantLinks = append(wantLinks, m)
			}
		}
		gotLinks, ok := objectMembers(outLinks)
		if !ok || len(gotLinks) != len(wantLinks) {
			t.Fatalf("links %s -> %s (current bad: %t)", inLinks, outLinks, curBad)
		}
		for i := range wantLinks {
			if gotLinks[i].key != wantLinks[i].key || !bytes.Equal(gotLinks[i].raw, wantLinks[i].raw) {
				t.Errorf("links member %d: %q %s, want %q %s", i, gotLinks[i].key, gotLinks[i].raw, wantLinks[i].key, wantLinks[i].raw)
			}
		}
	} else if !bytes.Equal(inLinks, outLinks) {
		t.Errorf("links changed: %s -> %s", inLinks, outLinks)
	}
}

// checkGeneric holds for any input: invalid JSON and non-2xx pass unchanged,
// valid JSON stays valid.
func checkGeneric(t *testing.T, status int, in []byte, r applied) {
	t.Helper()
	if (status/100 != 2 || !json.Valid(in)) && (r.changed || !bytes.Equal(r.body, in) || r.status != status) {
		t.Fatalf("changed a response that is not valid JSON or not 2xx (status %d -> %d): %.200q -> %.200q", status, r.status, in, r.body)
	}
	if r.changed && !json.Valid(r.body) {
		t.Fatalf("output is not valid JSON:\n in  %.300q\n out %.300q", in, r.body)
	}
	if !r.changed && (!bytes.Equal(r.body, in) || r.status != status) {
		t.Fatalf("unchanged outcome but a different response")
	}
}

func FuzzBadRunList(f *testing.F) {
	addSeeds(f, func(b []byte) {
		for p := range fuzzPolicies {
			f.Add(b, uint8(p))
		}
	})
	f.Fuzz(func(t *testing.T, body []byte, policy uint8) {
		p := fuzzPolicies[int(policy)%len(fuzzPolicies)]
		r := applyBadRun(t, p, "GET", "/runs", "", 200, body, nil)
		checkGeneric(t, 200, body, r)
		if !json.Valid(body) {
			return
		}
		checkListOutput(t, p, body, r)
		// Idempotence: the output of a downgrade needs no more downgrading.
		if r.changed && r.status/100 == 2 {
			r2 := applyBadRun(t, p, "GET", "/runs", "", r.status, r.body, nil)
			if r2.changed {
				t.Fatalf("a second application changed the output again:\n once  %.300q\n twice %.300q", r.body, r2.body)
			}
		}
	})
}

var singleRoutes = []struct {
	method, path string
	status       int
}{
	{"GET", "/runs/8fa6bcbe-a069-4b03-96f5-68a83bd1fcc3", 200},
	{"PATCH", "/runs/8fa6bcbe-a069-4b03-96f5-68a83bd1fcc3", 200},
	{"POST", "/runs", 201},
}

func FuzzBadRunSingle(f *testing.F) {
	addSeeds(f, func(b []byte) {
		for p := range fuzzPolicies {
			f.Add(b, uint8(p), uint8(p))
		}
	})
	f.Fuzz(func(t *testing.T, body []byte, policy, route uint8) {
		p := fuzzPolicies[int(policy)%len(fuzzPolicies)]
		rt := singleRoutes[int(route)%len(singleRoutes)]
		r := applyBadRun(t, p, rt.method, rt.path, "", rt.status, body, nil)
		checkGeneric(t, rt.status, body, r)
		if !json.Valid(body) {
			return
		}
		if r.changed && r.status/100 == 2 {
			r2 := applyBadRun(t, p, rt.method, rt.path, "", r.status, r.body, nil)
			if r2.changed {
				t.Fatalf("a second application changed the output again:\n once  %.300q\n twice %.300q", r.body, r2.body)
			}
		}
		ms, ok := objectMembers(body)
		if !ok || !noDuplicateKeys(ms) {
			return
		}
		data := topMember(ms, "data")
		if data == nil || data[0] != '{' {
			return // a list is FuzzBadRunList's; anything else must pass (checked above only if not JSON)
		}
		run, ok := readRun(data)
		if !ok {
			t.Fatalf("test bug: data object unreadable")
		}
		if !run.bad {
			if r.changed {
				t.Fatalf("changed a good run: %.300q -> %.300q", body, r.body)
			}
			return
		}
		if !r.changed {
			t.Fatalf("left a bad run as it was under %s: %.300q", p, body)
		}
		codeID := ""
		var dataError json.RawMessage
		for _, m := range run.ms {
			switch m.key {
			case "id":
				codeID = ""
				json.Unmarshal(m.raw, &codeID) // not a string: ""
			case "dataError":
				if dataError == nil {
					dataError = m.raw
				}
			}
		}
		var errs struct {
			Errors []json.RawMessage `json:"errors"`
		}
		switch p {
		case Hide:
			want := map[string]any{"errors": []any{map[string]any{"id": "RunNotFound", "title": "Run Not Found",
				"detail": "Error 4000 GENERAL_ERROR (RunNotFoundError): Run " + codeID + " was not found.", "errorCode": "4000"}}}
			got, err := decodeAny(r.body)
			if r.status != 404 || err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("hide: got %d %s, want 404 RunNotFound for %q", r.status, r.body, codeID)
			}
		case Error:
			if r.status != 500 || json.Unmarshal(r.body, &errs) != nil || len(errs.Errors) != 1 {
				t.Fatalf("error: got %d %s", r.status, r.body)
			}
			if dataError != nil && dataError[0] == '{' {
				if !sameJSON(errs.Errors[0], dataError) {
					t.Fatalf("error: the error %s is not the run's dataError %s", errs.Errors[0], dataError)
				}
			} else if !strings.Contains(string(errs.Errors[0]), `"errorCode":"4008"`) {
				t.Fatalf("error: fallback error %s", errs.Errors[0])
			}
		case Degrade:
			outMs, ok := objectMembers(r.body)
			if !ok || r.status != rt.status {
				t.Fatalf("degrade: got %d %.300q", r.status, r.body)
			}
			checkOthersKept(t, ms, outMs, "data")
			got, ok := readRun(topMember(outMs, "data"))
			if !ok || got.bad || !reflect.DeepEqual(got.stripped(), run.stripped()) {
				t.Fatalf("degrade: %.300q is not %.300q without ok and dataError", topMember(outMs, "data"), data)
			}
		}
	})
}

// FuzzBadRunWindow models a robot from its full run list: the upstream
// answers GET /runs?pageLength=k with the newest k runs (robot-server's
// formatting), GET /runs with the full list and GET /runs/{id} with the run
// or a 404. An old client asking for k runs must get the newest k good runs
// (all of them when fewer), byte for byte, totalLength recounted, and the
// current link dropped exactly when it names a bad run; under degrade, the
// window with its bad runs stripped. Applying the change again to its output
// (with the same upstream) changes nothing.
func FuzzBadRunWindow(f *testing.F) {
	i := 0
	addSeeds(f, func(b []byte) {
		for _, k := range []uint8{0, 2, 4, 9, 255} {
			f.Add(b, k, uint8(i%len(fuzzPolicies)))
			i++
		}
	})
	f.Fuzz(func(t *testing.T, full []byte, k uint8, policy uint8) {
		checkWindow(t, full, k, fuzzPolicies[int(policy)%len(fuzzPolicies)])
	})
}

// FuzzBadRunModel is FuzzBadRunWindow on robots built from the fuzzer's
// bytes, so that every input is a valid run list: one run per byte of shape
// (bit 0: bad; bits 1-2: which run), the current run, and the formatting
// (robot-server's, compact, indented).
func FuzzBadRunModel(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7}, uint8(3), uint8(0), uint8(7), uint8(0))
	f.Add([]byte{1, 1, 0, 0, 1, 0}, uint8(2), uint8(1), uint8(5), uint8(1))
	f.Add([]byte{0, 3, 3, 3, 3}, uint8(0), uint8(2), uint8(1), uint8(2))
	f.Add([]byte{5, 7, 1, 3}, uint8(4), uint8(0), uint8(200), uint8(0))
	f.Add([]byte{}, uint8(0), uint8(0), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, shape []byte, k, policy, current, format uint8) {
		if len(shape) > 24 { // robot-server keeps about 20 runs
			shape = shape[:24]
		}
		full := modelList(shape, int(current), int(format))
		if !json.Valid(full) {
			t.Fatalf("test bug: invalid model list %s", full)
		}
		checkWindow(t, full, k, fuzzPolicies[int(policy)%len(fuzzPolicies)])
	})
}

// Runs the model lists are made of (robot-server's formatting; %s is the id).
var modelRuns = [4][2]string{
	{ // small good / NO_SUMMARY BadRun
		`{"id": "%s", "ok": true, "createdAt": "2024-10-24T16:12:21.581389+00:00", "status": "idle", "current": false, "actions": [], "errors": [], "hasEverEnteredErrorRecovery": false, "pipettes": [], "modules": [], "labware": [], "liquids": [], "labwareOffsets": [], "runTimeParameters": [], "outputFileIds": []}`,
		`{"id": "%s", "ok": false, "dataError": {"id": "RunDataError", "title": "Run Data Error", "detail": "There was no engine state data for this run.", "meta": {"type": "InvalidStoredData", "code": "4008", "message": "There was no engine state data for this run.", "detail": {}, "wrapping": []}, "errorCode": "4008"}, "createdAt": "2024-10-22T10:31:23.145766+00:00", "status": "stopped", "current": false, "actions": [], "errors": [], "hasEverEnteredErrorRecovery": false, "pipettes": [], "modules": [], "labware": [], "liquids": [], "labwareOffsets": [], "runTimeParameters": [], "outputFileIds": []}`,
	},
	{ // good with nested values and escapes / development-era BadRun (no ok)
		`{"id": "%s", "ok": true, "createdAt": "2024-10-21T09:12:03.114532+00:00", "status": "succeeded", "current": false, "actions": [{"id": "a1", "createdAt": "2024-10-21T09:12:03.162087+00:00", "actionType": "play"}], "errors": [], "hasEverEnteredErrorRecovery": false, "pipettes": [{"id": "pipetteId", "pipetteName": "p10_single", "mount": "left"}], "modules": [], "labware": [{"id": "tipRackId", "loadName": "opentrons_96_tiprack_10ul", "definitionUri": "opentrons/opentrons_96_tiprack_10ul/1", "location": {"slotName": "8"}, "displayName": "Opentrons 96 Tip Rack 10 \u00b5L"}], "liquids": [], "labwareOffsets": [], "runTimeParameters": [], "outputFileIds": [], "protocolId": "p1", "completedAt": "2024-10-21T09:12:03.219664+00:00", "startedAt": "2024-10-21T09:12:03.170185+00:00"}`,
		`{"id": "%s", "dataError": {"id": "RunLoadingError", "title": "Run Loading Error", "detail": "There was no engine state data for this run.", "errorCode": "4008"}, "createdAt": "2024-10-23T17:55:02.004413+00:00", "status": "stopped", "current": false, "actions": [], "errors": [], "hasEverEnteredErrorRecovery": false, "pipettes": [], "modules": [], "labware": [], "liquids": [], "labwareOffsets": [], "runTimeParameters": [], "outputFileIds": []}`,
	},
	{ // a server before BadRun: no ok / ok false without a dataError
		`{"id": "%s", "createdAt": "2024-10-21T16:40:51.569553+00:00", "status": "stopped", "current": false, "actions": [], "errors": [{"id": "e", "detail": "ok: false, \"dataError\": {}"}], "pipettes": [], "modules": [], "labware": [], "labwareOffsets": []}`,
		`{"id": "%s", "ok": false, "createdAt": "2024-10-21T16:40:51.569553+00:00", "status": "stopped", "current": false, "actions": [], "errors": []}`,
	},
	{ // ok true with nested "ok": false / a bad-actions BadRun with a traceback
		`{"id": "%s", "ok": true, "createdAt": "2024-10-22T14:02:17.278695+00:00", "status": "failed", "current": false, "actions": [], "errors": [{"ok": false, "dataError": {}, "detail": "RuntimeError [line 14]\n  File \"x.py\""}], "hasEverEnteredErrorRecovery": true}`,
		`{"id": "%s", "ok": false, "dataError": {"id": "RunDataError", "title": "Run Data Error", "detail": "This run has invalid or unknown actions.", "meta": {"type": "InvalidStoredData", "code": "4008", "message": "This run has invalid or unknown actions.", "detail": {"kind": "bad-actions"}, "wrapping": [{"type": "ValueError", "code": "4000", "message": "ValueError: 'someFutureAction' is not a valid RunActionType", "detail": {"traceback": "  File \"/opt/opentrons/robot-server/robot_server/runs/run_store.py\", line 654\n    actions = [\n"}, "wrapping": []}]}, "errorCode": "4008"}, "createdAt": "2024-10-21T15:07:50.736426+00:00", "status": "succeeded", "current": false, "actions": [], "errors": []}`,
	},
}

// modelList renders a run list for FuzzBadRunModel.
func modelList(shape []byte, current, format int) []byte {
	var elems []json.RawMessage
	for i, b := range shape {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, int(b))
		elems = append(elems, json.RawMessage(fmt.Sprintf(modelRuns[(b>>1)%4][b&1], id)))
	}
	links := []byte("{}")
	if current < len(shape) {
		links = []byte(fmt.Sprintf(`{"current": {"href": "/runs/%08x-0000-4000-8000-%012x"}}`, current, int(shape[current])))
	}
	body := pyList(elems, links)
	var b bytes.Buffer
	switch format % 3 {
	case 1:
		if err := json.Compact(&b, body); err != nil {
			panic(err)
		}
		return b.Bytes()
	case 2:
		if err := json.Indent(&b, body, "", "  "); err != nil {
			panic(err)
		}
		return b.Bytes()
	}
	return body
}

// checkWindow runs the robot model of FuzzBadRunWindow on one full list.
func checkWindow(t *testing.T, full []byte, k uint8, p Policy) {
	t.Helper()
	{
		ms, ok := objectMembers(full)
		if !ok || !noDuplicateKeys(ms) {
			return
		}
		l, ok := readList(full)
		if !ok {
			return
		}
		seen := map[string]bool{}
		for _, r := range l.runs {
			// The model needs unique plain ids, as robot-server's UUIDs are.
			if seen[r.id] || strings.ContainsAny(r.id, `\"/?#%`) || r.id == "" {
				return
			}
			seen[r.id] = true
		}
		if bytes.ContainsRune(l.links, '\\') {
			return
		}
		// The window: -1 is no pageLength at all.
		n := int(k)%(len(l.runs)+3) - 1
		query, window := "", full
		if n >= 0 {
			query = "pageLength=" + strconv.Itoa(n)
			var elems []json.RawMessage
			for _, r := range l.runs[max(0, len(l.runs)-n):] {
				elems = append(elems, r.raw)
			}
			window = pyList(elems, l.links)
		}
		up := func(path string) (int, []byte, bool) {
			if path == "/runs" {
				return 200, full, true
			}
			id, ok := strings.CutPrefix(path, "/runs/")
			if !ok {
				return 0, nil, false
			}
			if r, found := l.find(id); found {
				return 200, []byte(`{"data": ` + string(r.raw) + `}`), true
			}
			nf, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{"id": "RunNotFound", "title": "Run Not Found",
				"detail": "Error 4000 GENERAL_ERROR (RunNotFoundError): Run " + id + " was not found.", "errorCode": "4000"}}})
			return 404, nf, true
		}
		r := applyBadRun(t, p, "GET", "/runs", query, 200, window, up)
		checkGeneric(t, 200, window, r)
		out, ok := readList(r.body)
		if !ok {
			t.Fatalf("output is not a run list: %.300q", r.body)
		}

		var want []json.RawMessage
		if p == Degrade {
			win, _ := readList(window)
			for _, run := range win.runs {
				if run.bad {
					want = append(want, nil) // checked semantically below
				} else {
					want = append(want, run.raw)
				}
			}
		} else {
			for _, run := range l.lastGood(n) {
				want = append(want, run.raw)
			}
		}
		if len(out.runs) != len(want) {
			t.Fatalf("pageLength %d: %d runs, want %d\n out %.500q", n, len(out.runs), len(want), r.body)
		}
		for i := range want {
			got := out.runs[i]
			if want[i] == nil {
				if src, found := l.find(got.id); got.bad || !found || !reflect.DeepEqual(got.stripped(), src.stripped()) {
					t.Fatalf("run %d is not the bad run stripped: %.300q", i, got.raw)
				}
			} else if !bytes.Equal(got.raw, want[i]) {
				t.Fatalf("run %d:\n got  %.300q\n want %.300q", i, got.raw, want[i])
			}
		}
		if n >= 0 || p != Degrade {
			// Recounted once runs are removed; else as the upstream wrote it.
			wantTotal := strconv.Itoa(len(want))
			if n < 0 && len(want) == len(l.runs) {
				wantTotal = string(totalLength(full))
			}
			if total := totalLength(r.body); total != nil && string(total) != wantTotal {
				t.Errorf("meta.totalLength %s, want %s", total, wantTotal)
			}
		}
		curID := codeCurrentID(l.links)
		cur, curFound := l.find(curID)
		wantCurrent := curID
		if p != Degrade && curID != "" && curFound && cur.bad {
			wantCurrent = ""
		}
		if got := codeCurrentID(out.links); got != wantCurrent {
			t.Errorf("links.current names %q, want %q (links in %s, out %s)", got, wantCurrent, l.links, out.links)
		}

		if r.changed && r.status/100 == 2 {
			r2 := applyBadRun(t, p, "GET", "/runs", query, r.status, r.body, up)
			if r2.changed {
				t.Fatalf("a second application changed the output again:\n once  %.300q\n twice %.300q", r.body, r2.body)
			}
		}
	}
}
