package config

import (
	"os"

	"go.yaml.in/yaml/v4"
)

// QAClient is one entry of a clients list for `otcompat compare --clients`:
// a client to ask as. An empty UserAgent sends none.
type QAClient struct {
	Name, UserAgent, Version string
	Pos                      Pos
}

// LoadQAClients reads a YAML list of {name, userAgent, version}. check, if
// set, judges each entry; its error is reported at the entry. Names must be
// unique. The error is an Errors when the file was read.
func LoadQAClients(path string, check func(QAClient) error) ([]QAClient, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseQAClients(path, data, check)
}

func parseQAClients(path string, data []byte, check func(QAClient) error) ([]QAClient, error) {
	d := &decoder{file: path}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		d.yamlError(err)
		return nil, d.errs
	}
	if len(doc.Content) == 0 {
		return nil, Errors{{Pos{path, 1, 1}, "no clients: want a list of {name, userAgent, version}"}}
	}
	list := doc.Content[0]
	if list.Kind != yaml.SequenceNode {
		d.errorf(list, "want a list of {name, userAgent, version}, not %s", kindName(list))
		return nil, d.errs
	}
	var out []QAClient
	names := map[string]int{}
	for _, n := range list.Content {
		before := len(d.errs)
		c := QAClient{Pos: d.pos(n)}
		var hasName, hasVersion bool
		d.mapping(n, "a client", func(key string, k, v *yaml.Node) {
			switch key {
			case "name":
				hasName = true
				c.Name, _ = d.scalar(v, "name")
			case "userAgent":
				c.UserAgent, _ = d.scalar(v, "userAgent")
			case "version":
				hasVersion = true
				c.Version, _ = d.scalar(v, "version")
			default:
				d.errorf(k, "unknown key %q in a client; allowed: name, userAgent, version", key)
			}
		})
		if n.Kind == yaml.MappingNode && (!hasName || !hasVersion) {
			d.errorf(n, "a client needs name and version (userAgent: none sent when absent)")
		} else if n.Kind == yaml.MappingNode && len(d.errs) == before && (c.Name == "" || c.Version == "") {
			d.errorf(n, "a client's name and version must not be empty")
		}
		if line, dup := names[c.Name]; dup && c.Name != "" {
			d.errorf(n, "client name %q used twice (first on line %d)", c.Name, line)
			continue
		} else if c.Name != "" {
			names[c.Name] = n.Line
		}
		if len(d.errs) > before {
			continue
		}
		if check != nil {
			if err := check(c); err != nil {
				d.errorf(n, "%v", err)
				continue
			}
		}
		out = append(out, c)
	}
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	return out, nil
}
