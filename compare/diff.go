package compare

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/wI2L/jsondiff"
)

// diff compares two answers; labels name them in the unified diff.
func diff(kind string, from, to Answer, fromLabel, toLabel string) Diff {
	d := Diff{Kind: kind, From: from.Label(), To: to.Label(), FromStatus: from.Status, ToStatus: to.Status}
	d.Differ = from.Status != to.Status || !bytes.Equal(from.body, to.body)
	if !d.Differ {
		return d
	}
	if json.Valid(from.body) && json.Valid(to.body) {
		// LCS matches array elements, so a run taken out of a list is one
		// remove, not a cascade of replaces.
		if p, err := jsondiff.CompareJSON(from.body, to.body, jsondiff.LCS()); err == nil {
			d.Patch = p
		}
	}
	d.Unified = unified(fromLabel, toLabel, readable(from.body), readable(to.body))
	return d
}

// maxDiffLines bounds the line diff: difflib's matcher grows with the
// square of the lines, and past about a megabyte of JSON a line diff is
// unreadable anyway (the JSON patch still says what changed).
const maxDiffLines = 40000

// unified is a unified diff with 3 lines of context. difflib (a port of
// Python's) anchors on unique lines such as run ids, so a run taken out of a
// list reads as one block of removed lines.
func unified(fromLabel, toLabel, a, b string) string {
	al, bl := lines(a), lines(b)
	if len(al) > maxDiffLines || len(bl) > maxDiffLines {
		return fmt.Sprintf("--- %s\n+++ %s\n@@ not shown: %d and %d lines are over the %d-line limit of a line diff; see the patch @@\n",
			fromLabel, toLabel, len(al), len(bl), maxDiffLines)
	}
	s, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: al, B: bl, FromFile: fromLabel, ToFile: toLabel, Context: 3})
	if err != nil {
		return ""
	}
	return s
}

// lines splits text into lines that each end in a newline.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return difflib.SplitLines(strings.TrimSuffix(s, "\n"))
}

// readable is a body as people diff it: JSON indented (members in the
// order sent), other text as is, binary as its size.
func readable(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	var out bytes.Buffer
	if json.Indent(&out, body, "", "  ") == nil {
		out.WriteByte('\n')
		return out.String()
	}
	if !utf8.Valid(body) || bytes.IndexByte(body, 0) >= 0 {
		return fmt.Sprintf("<%d bytes of binary data, sha256 %x>\n", len(body), sha256.Sum256(body))
	}
	s := string(body)
	if s[len(s)-1] != '\n' {
		s += "\n"
	}
	return s
}
