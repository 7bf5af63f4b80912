package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// envelopePrefix and envelopeSuffix frame the proxy's own error body, with
// the cause in between.
const (
	envelopePrefix = `{"errors":[{"id":"UpstreamUnavailable","title":"Robot Server Unavailable","detail":"`
	envelopeSuffix = `","errorCode":"4000"}]}`
)

// checkUnavailable checks the proxy's UpstreamUnavailable envelope.
func checkUnavailable(t *testing.T, resp *http.Response, body []byte, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	s := string(body)
	if !strings.HasPrefix(s, envelopePrefix) || !strings.HasSuffix(s, envelopeSuffix) ||
		len(s) == len(envelopePrefix)+len(envelopeSuffix) {
		t.Errorf("body is not the UpstreamUnavailable envelope with a detail:\n%s", body)
	}
	var env struct {
		Errors []map[string]any `json:"errors"`
	}
	if err := json.Unmarshal(body, &env); err != nil || len(env.Errors) != 1 {
		t.Errorf("body is not one error in an envelope: %v", err)
	}
}

// runList is the envelope of GET /runs, each run kept as its raw bytes.
type runList struct {
	Data  []json.RawMessage `json:"data"`
	Links json.RawMessage   `json:"links"`
	Meta  struct {
		Cursor      int `json:"cursor"`
		TotalLength int `json:"totalLength"`
	} `json:"meta"`
}

func parseList(t *testing.T, body []byte) runList {
	t.Helper()
	var l runList
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatalf("not a run list: %v\n%.300s", err, body)
	}
	return l
}

// member is one key of a JSON object with its raw value, in order.
type member struct {
	key string
	raw json.RawMessage
}

// members reads an object's top-level members in order, values as sent.
func members(t *testing.T, obj []byte) []member {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %.200s", obj)
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, member{tok.(string), raw})
	}
	return out
}

// runInfo is what a test needs of a run.
type runInfo struct {
	ID        string          `json:"id"`
	OK        *bool           `json:"ok"`
	DataError json.RawMessage `json:"dataError"`
}

func (r runInfo) bad() bool { return (r.OK != nil && !*r.OK) || r.DataError != nil }

func parseRun(t *testing.T, raw []byte) runInfo {
	t.Helper()
	var r runInfo
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("not a run: %v", err)
	}
	return r
}

// runNotFound is robot-server's 404 body for a run it does not have.
func runNotFound(id string) string {
	return `{"errors":[{"id":"RunNotFound","title":"Run Not Found","detail":"Error 4000 GENERAL_ERROR (RunNotFoundError): Run ` +
		id + ` was not found.","errorCode":"4000"}]}`
}
