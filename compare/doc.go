// Package compare asks a robot-server, or otcompat in front of one, the same
// requests at several API versions and reports what each version sees: the
// status, served version, content type and size of every answer, the run ids
// of run lists and runs (good or bad, seen or hidden), and the differences
// between versions (and between the proxy and the upstream itself) as RFC
// 6902 JSON patches and unified diffs of the pretty-printed bodies.
//
// It only ever sends GET or HEAD: comparing never changes a robot's state.
// Reports render as text (a table and the diffs), JSON (a stable schema for
// CI, see Report and README-QA.md) or one self-contained HTML page.
package compare
