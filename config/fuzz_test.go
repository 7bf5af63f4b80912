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
			checkProblems(t, err, file != nil)
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

// FuzzParseQAClients: any text gives clients with names, unique, and a
// version, or problems that each name a line and column.
func FuzzParseQAClients(f *testing.F) {
	for _, s := range []string{"- {name: a, userAgent: 'Opentrons/8.1.0', version: 3}\n- {name: b, version: '*'}\n",
		"", "name: a\n", "- x\n", "- {name: a, version: 3}\n- {name: a, version: 3}\n", "- [\n", "- {name: a, version: ''}\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		cs, err := parseQAClients("c.yaml", []byte(text), nil)
		if err != nil {
			checkProblems(t, err, cs != nil)
			return
		}
		seen := map[string]bool{}
		for _, c := range cs {
			if c.Name == "" || c.Version == "" || seen[c.Name] {
				t.Fatalf("client %+v (names so far %v)", c, seen)
			}
			seen[c.Name] = true
		}
	})
}

// checkProblems fails unless err lists problems that each name a line and
// column, and nothing was returned beside them.
func checkProblems(t *testing.T, err error, returned bool) {
	t.Helper()
	var es Errors
	if !errors.As(err, &es) || len(es) == 0 || returned {
		t.Fatalf("error %v (%T), something returned beside it: %v", err, err, returned)
	}
	for _, e := range es {
		if e.Pos.Line < 1 || e.Pos.Col < 1 {
			t.Fatalf("no position: %v", e)
		}
	}
}
