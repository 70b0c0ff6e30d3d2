package schema

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The functions below edit a configuration file's content for the admin API. Each edit is made twice: on the YAML
// node tree, which says what the file must mean afterwards, and as a splice of the original bytes that rewrites
// only the lines (or, inside a flow collection, the characters) of the entry that changes — so blank lines,
// comments, their alignment, quoting, line endings and a missing final newline survive everywhere else (issue
// 16). The splice is used only when it parses to exactly what the tree edit means; otherwise, for layouts the
// splice does not handle (anchors, tags, multi-line plain scalars), the tree is re-encoded as a whole.

// SetEntry sets section.key (section is "bindings" or "sources") to value, YAML or JSON text, replacing an
// existing entry in place or appending a new one. The section is created when missing. Replacing an entry with
// an equal value (whatever its style) returns data unchanged. The value is written in the style of the entry it
// replaces (one line {…} stays one line, a block stays a block) or, when new, of the entry before it.
func SetEntry(data []byte, section, key string, value []byte) ([]byte, error) {
	doc, root, err := parseDoc(data)
	if err != nil {
		return nil, err
	}
	var v yaml.Node
	if err := yaml.Unmarshal(value, &v); err != nil {
		return nil, fmt.Errorf("the value of %s.%s is not YAML or JSON: %w", section, key, err)
	}
	if v.Kind != yaml.DocumentNode || len(v.Content) == 0 || v.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the value of %s.%s must be a mapping, e.g. {source: crm, path: /x}", section, key)
	}
	val := v.Content[0]
	sec := mapValue(root, section)
	if sec == nil || sec.Kind != yaml.MappingNode {
		sec = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		setMap(root, section, sec)
	}
	setMap(sec, key, val)
	// setMap moved the old value's comments onto val; the splice renders the value as given.
	var fresh yaml.Node
	_ = yaml.Unmarshal(value, &fresh)
	return spliced(data, doc, func(t *text) ([]edit, bool) { return t.set(section, key, fresh.Content[0]) })
}

// DeleteEntry removes section.key; it fails when there is no such entry.
func DeleteEntry(data []byte, section, key string) ([]byte, error) {
	doc, root, err := parseDoc(data)
	if err != nil {
		return nil, err
	}
	sec := mapValue(root, section)
	if sec == nil || sec.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("there is no %s.%s to remove", section, key)
	}
	for i := 0; i+1 < len(sec.Content); i += 2 {
		if sec.Content[i].Value == key {
			sec.Content = append(sec.Content[:i], sec.Content[i+2:]...)
			return spliced(data, doc, func(t *text) ([]edit, bool) { return t.remove(section, key) })
		}
	}
	return nil, fmt.Errorf("there is no %s.%s to remove", section, key)
}

// Entry returns section.key as YAML text, or nil when there is none.
func Entry(data []byte, section, key string) []byte {
	_, root, err := parseDoc(data)
	if err != nil {
		return nil
	}
	sec := mapValue(root, section)
	if sec == nil {
		return nil
	}
	v := mapValue(sec, key)
	if v == nil {
		return nil
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		return nil
	}
	return out
}

// AddSchemaFile adds file to the `schema:` list unless a glob there already names it literally.
func AddSchemaFile(data []byte, file string) ([]byte, error) {
	doc, root, err := parseDoc(data)
	if err != nil {
		return nil, err
	}
	s := mapValue(root, "schema")
	switch {
	case s == nil:
		setMap(root, "schema", &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle,
			Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: file}}})
	case s.Kind == yaml.ScalarNode:
		if s.Value == file {
			return data, nil
		}
		first := *s
		first.HeadComment, first.LineComment, first.FootComment = "", "", ""
		*s = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, HeadComment: s.HeadComment,
			LineComment: s.LineComment, FootComment: s.FootComment,
			Content: []*yaml.Node{&first, {Kind: yaml.ScalarNode, Tag: "!!str", Value: file}}}
	case s.Kind == yaml.SequenceNode:
		for _, e := range s.Content {
			if e.Value == file {
				return data, nil
			}
		}
		s.Content = append(s.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: file})
	default:
		return nil, fmt.Errorf("schema: is neither a string nor a list")
	}
	return spliced(data, doc, func(t *text) ([]edit, bool) { return t.addSchemaFile(file) })
}

func parseDoc(data []byte) (*yaml.Node, *yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("the configuration is not valid YAML: %w", err)
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("the configuration is not a mapping")
	}
	return &doc, root, nil
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return resolve(m.Content[i+1])
		}
	}
	return nil
}

func setMap(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			// Keep the comment that belonged to the old value.
			v.HeadComment, v.LineComment, v.FootComment = m.Content[i+1].HeadComment, m.Content[i+1].LineComment, m.Content[i+1].FootComment
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

func encodeDoc(doc *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode configuration: %w", err)
	}
	return bytes.TrimLeft(buf.Bytes(), "\n"), nil
}

// Problems returns err's problems when it is a *ConfigError, else one problem holding its message.
func Problems(err error) []Problem {
	if ce, ok := err.(*ConfigError); ok {
		return ce.Problems
	}
	return []Problem{{Message: strings.TrimSpace(err.Error())}}
}
