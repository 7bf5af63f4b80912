package config

import (
	"errors"
	"testing"
)

// FuzzParse: any text is answered without a panic, either with a file or
// with problems that each name a line and column; a file that passes,
// rendered again, passes again with the same rules.
func FuzzParse(f *testing.F) {
	for _, s := range []string{issueFile, "", "listen: a\n", "clients: [{name: a, remote: [unix], serve: 3}]\n",
		"clients:\n  - {name: a, header: {name: X, value: y}, userAgent: {product: P, version: '>= 1'}, serve: newest}\n",
		"trustedProxies: []\n", "a: &x [1]\nb: *x\n", "- [\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		file, err := testSchema.Parse("f.yaml", []byte(text))
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 || file != nil {
				t.Fatalf("error %v (%T), file %v", err, err, file)
			}
			for _, e := range es {
				if e.Pos.Line < 1 || e.Pos.Col < 1 {
					t.Fatalf("no position: %v", e)
				}
			}
			return
		}
		var values []Value
		for _, k := range []string{"listen", "badrun-version", "pprof"} {
			if s, ok := file.Settings[k]; ok {
				values = append(values, Value{Key: k, Value: s.Value, Literal: k != "listen"})
			}
		}
		out, err := Render(values, file.Clients)
		if err != nil {
			t.Fatal(err)
		}
		again, err := testSchema.Parse("out.yaml", out)
		if err != nil {
			t.Fatalf("rendered file does not pass: %v\n%s", err, out)
		}
		if len(again.Clients.List) != len(file.Clients.List) {
			t.Fatalf("%d rules, read back %d", len(file.Clients.List), len(again.Clients.List))
		}
	})
}
