package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadQAClients(t *testing.T) {
	dir := t.TempDir()
	noStar := func(c QAClient) error {
		if c.Version == "*" {
			return errors.New("no stars here")
		}
		return nil
	}
	for _, tc := range []struct {
		name, text string
		want       string // the clients' names, or the errors
	}{
		{"good", "- {name: app-7.2.2, userAgent: 'Opentrons/7.2.2', version: 3}\n- name: no-ua\n  version: 3\n", "app-7.2.2,no-ua"},
		{"empty", "", "f.yaml:1:1: no clients: want a list of {name, userAgent, version}"},
		{"not a list", "name: a\n", "f.yaml:1:1: want a list of {name, userAgent, version}, not a mapping"},
		{"problems", "- {name: a, version: 3, ua: x}\n- {name: b}\n- {name: c, version: '*'}\n- {name: a, version: 3}\n- {name: d, version: [3]}\n- x\n- {name: '', version: 3}\n", strings.Join([]string{
			`f.yaml:1:25: unknown key "ua" in a client; allowed: name, userAgent, version`,
			`f.yaml:2:3: a client needs name and version (userAgent: none sent when absent)`,
			`f.yaml:3:3: no stars here`,
			`f.yaml:4:3: client name "a" used twice (first on line 1)`,
			`f.yaml:5:22: version: want a value, not a list`,
			`f.yaml:6:3: a client: want a mapping of keys to values, not "x"`,
			`f.yaml:7:3: a client's name and version must not be empty`}, "\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "f.yaml")
			if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			cs, err := LoadQAClients(path, noStar)
			got := ""
			if err != nil {
				got = strings.ReplaceAll(err.Error(), path, "f.yaml")
			} else {
				var names []string
				for _, c := range cs {
					names = append(names, c.Name)
				}
				got = strings.Join(names, ",")
				if cs[0].UserAgent != "Opentrons/7.2.2" || cs[0].Version != "3" || cs[1].UserAgent != "" {
					t.Errorf("clients %+v", cs)
				}
			}
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
