package transforms

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/go-version"
)

// Changelog is the chain read as upgrade notes: each version, newest first,
// with the changes it introduced.
type Changelog struct {
	Newest   string             `json:"newest"`
	Versions []ChangelogVersion `json:"versions"`
}

// ChangelogVersion is one version's changes.
type ChangelogVersion struct {
	Version string           `json:"version"`
	Changes []ChangelogEntry `json:"changes"`
}

// ChangelogEntry is one change.
type ChangelogEntry struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Routes      []string `json:"routes"`
}

// routeLister is a change that can list its routes for the changelog.
type routeLister interface{ Routes() []string }

// Changelog lists the chain's changes by version, newest first. Versions
// that compare equal ("6" and "6.0") are one version.
func (c *Chain) Changelog() Changelog {
	l := Changelog{Versions: []ChangelogVersion{}}
	if n := c.Newest(); n != nil {
		l.Newest = n.Original()
	}
	var prev *version.Version
	for _, ch := range c.changes {
		if prev == nil || !ch.Version().Equal(prev) {
			l.Versions = append(l.Versions, ChangelogVersion{Version: ch.Version().Original()})
			prev = ch.Version()
		}
		e := ChangelogEntry{Name: ch.Name(), Description: ch.Description(), Routes: []string{}}
		if rl, ok := ch.(routeLister); ok {
			e.Routes = rl.Routes()
		}
		last := &l.Versions[len(l.Versions)-1]
		last.Changes = append(last.Changes, e)
	}
	return l
}

// WriteJSON writes the changelog as indented JSON: the output of
// "otcompat changes --format json" and of the admin /changes.
func (l Changelog) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(l)
}

// WriteMarkdown writes the changelog as upgrade notes: a section per
// version, newest first, and under it each change with its routes.
func (l Changelog) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# API changelog\n")
	if l.Newest != "" {
		fmt.Fprintf(&b, "\nNewest version: %s. A client sending an older version gets every change above its version undone, newest first.\n", l.Newest)
	}
	for _, v := range l.Versions {
		fmt.Fprintf(&b, "\n## Version %s\n", v.Version)
		for _, e := range v.Changes {
			fmt.Fprintf(&b, "\n### %s\n\n%s\n", e.Name, e.Description)
			if len(e.Routes) > 0 {
				b.WriteString("\nRoutes: `" + strings.Join(e.Routes, "`, `") + "`\n")
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
