package schema

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/agnivade/levenshtein"
	"go.yaml.in/yaml/v3"
)

// decoder walks a YAML node tree strictly: every key must be known, every value of the expected kind. It
// records a Problem for each violation and goes on, so one load reports everything. Not safe for concurrent use.
type decoder struct {
	file string
	*problems
	// read keeps the SDL files read (public and upstream), by path relative to the configuration's directory.
	read map[string][]byte
}

func (d *decoder) pos(n *yaml.Node) Position {
	if n == nil {
		return Position{File: d.file}
	}
	return Position{File: d.file, Line: n.Line, Column: n.Column}
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// syntaxProblem turns a YAML parse error of data into a Problem at the line and column of the mistake, with a
// hint. The YAML parser names only a line, and for an unclosed flow collection the line where the collection
// began (issue 16: "off by 1 and by 4"): the commonest mistakes are found in the text itself — a tab in the
// indentation, an unquoted {{…}} template (which YAML reads as a flow mapping), a key indented off its
// mapping.
func (d *decoder) syntaxProblem(err error, data []byte) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	pos := Position{File: d.file}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		msg = strings.TrimSpace(strings.Replace(msg, m[0]+":", "", 1))
	}
	lines := strings.Split(string(data), "\n")
	hint := ""
	switch {
	case strings.Contains(msg, "cannot start any token") && tabIndent(lines) > 0:
		pos.Line = tabIndent(lines)
		pos.Column = 1
		hint = "indent with spaces: YAML does not allow tabs in indentation"
	case strings.Contains(msg, "did not find expected") || strings.Contains(msg, "flow") || strings.Contains(msg, "could not find expected ':'"):
		if line, col := unquotedTemplate(lines, pos.Line); line > 0 {
			pos.Line, pos.Column = line, col
			hint = "quote a value with a {{…}} template, e.g. path: \"/users/{{args.id}}\": unquoted, YAML reads { as the start of a mapping"
		} else if line, col, open := unclosed(lines, pos.Line); line > 0 {
			pos.Line, pos.Column = line, col
			hint = fmt.Sprintf("the %c opened here is not closed: close it, or quote a value that holds one", open)
		}
	case strings.Contains(msg, "mapping values are not allowed"):
		hint = "check this line's indentation against the lines above: a key must line up with the other keys of its mapping"
	}
	if pos.Column == 0 && pos.Line > 0 && pos.Line <= len(lines) {
		pos.Column = len(lines[pos.Line-1]) - len(strings.TrimLeft(lines[pos.Line-1], " ")) + 1
	}
	if hint != "" {
		d.errorf(pos, "", "YAML syntax error: %s: %s", msg, hint)
		return
	}
	d.errorf(pos, "", "YAML syntax error: %s", msg)
}

// unclosed finds the first { or [ outside quotes, from line from (the parser names the line before a flow
// collection that is not closed) on, that is not closed on its own line, and returns its line, column and
// character.
func unclosed(lines []string, from int) (int, int, byte) {
	for i := max(from-1, 0); i < len(lines) && i <= from; i++ {
		var stack []int
		outsideQuotes(lines[i], func(j int) bool {
			switch lines[i][j] {
			case '{', '[':
				stack = append(stack, j)
			case '}', ']':
				if len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
			}
			return true
		})
		if len(stack) > 0 {
			return i + 1, stack[0] + 1, lines[i][stack[0]]
		}
	}
	return 0, 0, 0
}

// outsideQuotes calls f with the index of each byte of line outside quoted strings and before a comment, until f
// returns false.
func outsideQuotes(line string, f func(j int) bool) {
	var quote byte
	for j := 0; j < len(line); j++ {
		switch c := line[j]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (j == 0 || line[j-1] == ' '):
			return // a comment
		default:
			if !f(j) {
				return
			}
		}
	}
}

// tabIndent returns the first line (1-based) whose indentation holds a tab, 0 when none does.
func tabIndent(lines []string) int {
	for i, l := range lines {
		rest := strings.TrimLeft(l, " ")
		if strings.HasPrefix(rest, "\t") {
			return i + 1
		}
	}
	return 0
}

// unquotedTemplate finds the first {{ outside quotes and comments at or after line from (1-based) and returns
// its line and column, 0, 0 when there is none.
func unquotedTemplate(lines []string, from int) (int, int) {
	for i := max(from-1, 0); i < len(lines); i++ {
		col := 0
		outsideQuotes(lines[i], func(j int) bool {
			if strings.HasPrefix(lines[i][j:], "{{") {
				col = j + 1
				return false
			}
			return true
		})
		if col > 0 {
			return i + 1, col
		}
	}
	return 0, 0
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// entry is one key of a mapping.
type entry struct {
	key   string
	keyN  *yaml.Node
	value *yaml.Node
}

// mapping returns the entries of a mapping node in file order, expanding YAML merge keys ("<<"). When known
// is not nil, unknown keys are reported with the closest known one. A duplicate key is an error.
func (d *decoder) mapping(n *yaml.Node, path string, known []string) ([]entry, bool) {
	n = resolve(n)
	if n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(d.pos(n), path, "expected a mapping (key: value), got %s", kindName(n))
		return nil, false
	}
	var out []entry
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" && k.Tag == "!!merge" {
			merged, _ := d.mapping(v, path, known)
			for _, e := range merged {
				if !seen[e.key] {
					seen[e.key] = true
					out = append(out, e)
				}
			}
			continue
		}
		if seen[k.Value] {
			d.errorf(d.pos(k), join(path, k.Value), "duplicate key %q: keep one", k.Value)
			continue
		}
		seen[k.Value] = true
		if known != nil && !contains(known, k.Value) {
			d.errorf(d.pos(k), path, "unknown key %q%s", k.Value, suggest(k.Value, known))
			continue
		}
		out = append(out, entry{key: k.Value, keyN: k, value: v})
	}
	return out, true
}

// suggest names the closest of known to got, or lists known when none is close.
func suggest(got string, known []string) string {
	return suggestAs(got, known, "known keys")
}

// suggestAs is suggest with the list introduced as noun ("have", "arguments", ...).
func suggestAs(got string, known []string, noun string) string {
	if len(known) == 0 {
		return " (there are none)"
	}
	best, bestD := "", 1<<30
	for _, k := range known {
		if d := levenshtein.ComputeDistance(strings.ToLower(got), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" && bestD <= 1+len(got)/3 {
		return ": did you mean " + strconv.Quote(best) + "?"
	}
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	return " (" + noun + ": " + strings.Join(sorted, ", ") + ")"
}

func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(d.pos(n), path, "expected a string, got %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

// isTemplateMapping reports whether n is what YAML makes of an unquoted {{x}}: a flow mapping whose only key is
// a flow mapping.
func isTemplateMapping(n *yaml.Node) bool {
	return n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle != 0 && len(n.Content) == 2 && n.Content[0].Kind == yaml.MappingNode
}

func (d *decoder) integer(n *yaml.Node, path string, min int) (int, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.errorf(d.pos(n), path, "expected an integer, got %s", kindName(n))
		return 0, false
	}
	i, err := strconv.Atoi(n.Value)
	if err != nil || i < min {
		d.errorf(d.pos(n), path, "expected an integer ≥ %d, got %s", min, n.Value)
		return 0, false
	}
	return i, true
}

func (d *decoder) number(n *yaml.Node, path string) (float64, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		f, err := strconv.ParseFloat(n.Value, 64)
		if err == nil && f >= 0 {
			return f, true
		}
	}
	d.errorf(d.pos(n), path, "expected a non-negative number, got %s", kindName(n))
	return 0, false
}

func (d *decoder) fraction(n *yaml.Node, path string) (float64, bool) {
	f, ok := d.number(n, path)
	if ok && f > 1 {
		d.errorf(d.pos(n), path, "expected a share between 0 and 1, got %v", f)
		return 0, false
	}
	return f, ok
}

func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		d.errorf(d.pos(n), path, "expected true or false, got %s", kindName(n))
		return false, false
	}
	var b bool
	_ = n.Decode(&b)
	return b, true
}

func (d *decoder) duration(n *yaml.Node, path string) (time.Duration, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		if v, err := time.ParseDuration(n.Value); err == nil && v >= 0 {
			return v, true
		}
	}
	d.errorf(d.pos(n), path, "expected a duration such as 800ms or 5s, got %s", kindName(n))
	return 0, false
}

// strings accepts one string or a list of them.
func (d *decoder) strings(n *yaml.Node, path string) ([]string, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		s, ok := d.str(n, path)
		return []string{s}, ok
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(d.pos(n), path, "expected a string or a list of strings, got %s", kindName(n))
		return nil, false
	}
	var out []string
	ok := true
	for _, e := range n.Content {
		s, eok := d.str(e, path)
		ok = ok && eok
		out = append(out, s)
	}
	return out, ok
}

// template compiles a string node into a Template.
func (d *decoder) template(n *yaml.Node, path string) (*Template, bool) {
	s, ok := d.str(n, path)
	if !ok {
		return nil, false
	}
	t, err := ParseTemplate(s)
	if err != nil {
		d.errorf(d.pos(n), path, "%s", err.Error())
		return nil, false
	}
	t.Pos = d.pos(resolve(n))
	return t, true
}

// value compiles any YAML value into a Value; strings become templates.
func (d *decoder) value(n *yaml.Node, path string) (*Value, bool) {
	n = resolve(n)
	v := &Value{Pos: d.pos(n)}
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			v.Kind = ValueNull
		case "!!str":
			t, ok := d.template(n, path)
			if !ok {
				return nil, false
			}
			if t.IsLiteral() {
				v.Kind, v.Scalar = ValueScalar, n.Value
			} else {
				v.Kind, v.Template = ValueTemplate, t
			}
		case "!!bool":
			var b bool
			_ = n.Decode(&b)
			v.Kind, v.Scalar = ValueScalar, b
		case "!!int":
			var i int64
			if err := n.Decode(&i); err != nil {
				d.errorf(d.pos(n), path, "integer %s does not fit in 64 bits", n.Value)
				return nil, false
			}
			v.Kind, v.Scalar = ValueScalar, i
		case "!!float":
			var f float64
			_ = n.Decode(&f)
			v.Kind, v.Scalar = ValueScalar, f
		default:
			v.Kind, v.Scalar = ValueScalar, n.Value
		}
		return v, true
	case yaml.SequenceNode:
		v.Kind = ValueList
		ok := true
		for i, e := range n.Content {
			ev, eok := d.value(e, path+"["+strconv.Itoa(i)+"]")
			ok = ok && eok
			v.List = append(v.List, ev)
		}
		return v, ok
	case yaml.MappingNode:
		v.Kind = ValueObject
		entries, ok := d.mapping(n, path, nil)
		for _, e := range entries {
			ev, eok := d.value(e.value, join(path, e.key))
			ok = ok && eok
			v.Fields = append(v.Fields, ValueField{Name: e.key, Value: ev})
		}
		return v, ok
	}
	d.errorf(d.pos(n), path, "unsupported YAML value")
	return nil, false
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		if isTemplateMapping(n) {
			return "a mapping: quote the {{…}} template, e.g. \"{{args.id}}\" (unquoted, YAML reads { as the start of a mapping)"
		}
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing (null)"
		case "!!str":
			return strconv.Quote(n.Value)
		}
		return n.Value
	}
	return "an unsupported value"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
