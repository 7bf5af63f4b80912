package compare

import "github.com/wI2L/jsondiff"

// Schema names the version of the JSON report; it changes only when a
// field changes meaning or goes away (new fields may be added).
const Schema = "otcompat.compare/v1"

// Report is what compare found. Its JSON form is the documented schema.
type Report struct {
	Schema string `json:"schema"`
	Target string `json:"target"`
	Direct string `json:"direct,omitempty"`
	Method string `json:"method"`
	// Versions summarises each version over all paths, in the order asked.
	Versions []VersionSummary `json:"versions"`
	Paths    []PathReport     `json:"paths"`
	// Differences is true when any compared pair answered differently.
	Differences bool        `json:"differences"`
	FailOnDiff  *FailOnDiff `json:"failOnDiff,omitempty"`
}

// VersionSummary is what one version sees of the runs, over all paths.
type VersionSummary struct {
	// Version is the version asked, or a client's name.
	Version string `json:"version"`
	// SeenRunIDs are the run ids in this version's answers, in first-seen order.
	SeenRunIDs []string `json:"seenRunIds"`
	// BadRunIDs are the seen runs that are bad (ok false, or a dataError).
	BadRunIDs []string `json:"badRunIds"`
	// HiddenRunIDs are runs another version sees in some path where this
	// version does not, and that this version sees in no path.
	HiddenRunIDs []string `json:"hiddenRunIds"`
	// HiddenFromUpstreamRunIDs (with a direct upstream) are runs the upstream
	// answered this version with that the target did not pass on.
	HiddenFromUpstreamRunIDs []string `json:"hiddenFromUpstreamRunIds,omitempty"`
}

// Path kinds: run lists and single runs have their run ids read.
const (
	KindRunList = "runList"
	KindRun     = "run"
	KindOther   = "other"
)

// PathReport is every answer to one path.
type PathReport struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
	// Answers are the target's, one per version in order.
	Answers []Answer `json:"answers"`
	// Upstream are the direct upstream's answers, one per version in order.
	Upstream []Answer `json:"upstream,omitempty"`
	Diffs    []Diff   `json:"diffs"`
}

// Answer is one response.
type Answer struct {
	// Version is the Opentrons-Version sent.
	Version string `json:"version"`
	// Client names the --clients entry asked as, UserAgent the User-Agent
	// sent when compare set one.
	Client    string `json:"client,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
	Status    int    `json:"status"`
	// ServedVersion is the Opentrons-Version response header ("" when absent:
	// robot-server sends none on run routes).
	ServedVersion string `json:"servedVersion,omitempty"`
	// ExplainServed and Applied are otcompat's Otcompat-Served-Version and
	// Otcompat-Applied headers ("badrun@5" or "none"); absent from a plain
	// robot-server.
	ExplainServed string `json:"explainServedVersion,omitempty"`
	Applied       string `json:"applied,omitempty"`
	// Rule is otcompat's Otcompat-Client-Rule: the client rule that chose
	// the served version, or "none".
	Rule        string `json:"rule,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	Size        int    `json:"size"`
	SHA256      string `json:"sha256"`
	// Runs are the runs of a run list or single run, in order.
	Runs []RunMark `json:"runs,omitempty"`
	// HiddenRunIDs are runs other versions see at this path that this
	// answer lacks; HiddenFromUpstreamRunIDs those the upstream sent for
	// this version that this answer lacks.
	HiddenRunIDs             []string `json:"hiddenRunIds,omitempty"`
	HiddenFromUpstreamRunIDs []string `json:"hiddenFromUpstreamRunIds,omitempty"`

	body []byte
}

// Label names a's column: the client's name, or the version asked.
func (a Answer) Label() string {
	if a.Client != "" {
		return a.Client
	}
	return a.Version
}

// RunMark is one run of an answer, marked good or bad.
type RunMark struct {
	ID  string `json:"id"`
	Bad bool   `json:"bad"`
}

// Diff kinds.
const (
	// DiffVersions compares the target's answers at From and To.
	DiffVersions = "versions"
	// DiffUpstream compares the upstream's answer at From with the
	// target's at the same version (From == To).
	DiffUpstream = "upstream"
)

// Diff is one comparison of two answers.
type Diff struct {
	Kind string `json:"kind"`
	From string `json:"from"`
	To   string `json:"to"`
	// Differ is true when the status or the body bytes differ.
	Differ     bool `json:"differ"`
	FromStatus int  `json:"fromStatus"`
	ToStatus   int  `json:"toStatus"`
	// Patch turns the From body into the To body (both JSON); omitted
	// when equal or not both JSON.
	Patch jsondiff.Patch `json:"patch,omitempty"`
	// Unified is a unified diff of the pretty-printed bodies.
	Unified string `json:"unified,omitempty"`
}

// FailOnDiff is the verdict of --fail-on-diff.
type FailOnDiff struct {
	A      string   `json:"a"`
	B      string   `json:"b"`
	Differ bool     `json:"differ"`
	Paths  []string `json:"paths"` // where they differ
}
