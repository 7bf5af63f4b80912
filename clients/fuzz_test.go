package clients

import (
	"strings"
	"testing"

	"github.com/hashicorp/go-version"
)

// FuzzProductVersion: any User-Agent is answered without a panic; a version
// found is a token that appears in the input right after "<product>/", and
// a User-Agent matches the issue's first rule only with a release version
// of 7.3.0 or later.
func FuzzProductVersion(f *testing.F) {
	for _, s := range []string{app630, app722, app730, app810, app820alpha, "", "(", "Opentrons", "a (b (c) \\) d) Opentrons/1.2",
		"Opentrons/8.1.0/x", "/1", "Opentrons/\x00"} {
		f.Add(s)
	}
	rs := issueRules(f)
	v730 := version.Must(version.NewVersion("7.3.0"))
	f.Fuzz(func(t *testing.T, ua string) {
		v, ok := ProductVersion(ua, "Opentrons")
		if !ok && v != "" {
			t.Fatalf("not found but version %q", v)
		}
		if ok && v != "" && !strings.Contains(strings.ToLower(ua), "opentrons/"+strings.ToLower(v)) {
			t.Fatalf("version %q is not in %q", v, ua)
		}
		if r := rs.Match(Request{UserAgent: ua}); r != nil {
			got, err := version.NewVersion(v)
			if !ok || err != nil || got.LessThan(v730) || got.Prerelease() != "" {
				t.Fatalf("%q matched %s with version %q", ua, r.Name, v)
			}
		}
	})
}
