package config

import (
	"go.yaml.in/yaml/v4"

	"otcompat/clients"
)

// Value is a flag-named key's effective value, for Render. Literal values
// (numbers, booleans) are written plain; the others as strings, quoted
// where YAML would otherwise read them as something else.
type Value struct {
	Key, Value string
	Literal    bool
}

// Render writes a configuration file holding values, in their order, then
// trustedProxies and clients: what Parse reads back to the same settings.
func Render(values []Value, rules *clients.Rules) ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	add := func(key string, v *yaml.Node) { root.Content = append(root.Content, str(key), v) }
	for _, v := range values {
		n := str(v.Value)
		if v.Literal {
			n.Tag = ""
		}
		add(v.Key, n)
	}
	if rules == nil {
		rules = &clients.Rules{Trusted: clients.DefaultTrusted}
	}
	add("trustedProxies", netsNode(rules.Trusted))
	list := &yaml.Node{Kind: yaml.SequenceNode}
	for _, r := range rules.List {
		m := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("name"), str(r.Name)}}
		if ua := r.UserAgent; ua != nil {
			m.Content = append(m.Content, str("userAgent"), flowMap("product", ua.Product, "version", ua.Version))
		}
		if r.Remote != nil {
			m.Content = append(m.Content, str("remote"), netsNode(*r.Remote))
		}
		if h := r.Header; h != nil {
			m.Content = append(m.Content, str("header"), flowMap("name", h.Name, "value", h.Value))
		}
		serve := str(r.Serve.String())
		if !r.Serve.Newest {
			serve.Tag = ""
		}
		m.Content = append(m.Content, str("serve"), serve)
		list.Content = append(list.Content, m)
	}
	if len(list.Content) == 0 {
		list.Style = yaml.FlowStyle
	}
	add("clients", list)
	return yaml.Dump(root)
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func flowMap(kv ...string) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	for _, s := range kv {
		m.Content = append(m.Content, str(s))
	}
	return m
}

func netsNode(n clients.Nets) *yaml.Node {
	l := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	if n.Unix {
		l.Content = append(l.Content, str("unix"))
	}
	for _, p := range n.Prefixes {
		l.Content = append(l.Content, str(p.String()))
	}
	return l
}
