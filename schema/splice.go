package schema

import (
	"bytes"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// This file makes the admin API's edits of a configuration file as splices of its original bytes (issue 16: a
// write-back used to re-encode the whole file, dropping blank lines, re-aligning comments and re-quoting URLs).
// A block-style entry is replaced, added or removed as whole lines; an entry inside a flow collection ({…} or
// […]) as the characters of its key and value. New text is rendered by go.yaml.in/yaml/v3 in the style of what
// it replaces or sits beside, indented like the file, and written with the file's line ending.

// text is a configuration file's bytes with its line starts and its parsed root mapping. Lines are numbered
// from 1, like yaml.Node.Line.
type text struct {
	data   []byte
	starts []int      // byte offset of each line's first byte
	eol    string     // the file's line ending: "\r\n" when its first line ends so, else "\n"
	indent int        // the file's indentation step (2 unless the file shows another)
	root   *yaml.Node // the root mapping; nil for a document without content
}

// edit replaces data[from:to] with s.
type edit struct {
	from, to int
	s        string
}

// spliced returns data changed by the edits plan makes, when plan can make them and their result means exactly
// want (the tree edit of the same change); else want re-encoded as a whole. No edits means data is unchanged.
func spliced(data []byte, want *yaml.Node, plan func(*text) ([]edit, bool)) ([]byte, error) {
	if t, ok := newText(data); ok {
		if edits, ok := plan(t); ok {
			out := t.apply(edits)
			if sameYAML(out, want) {
				return out, nil
			}
		}
	}
	return encodeDoc(want)
}

func newText(data []byte) (*text, bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, false
	}
	t := &text{data: data, eol: "\n", indent: 2}
	if len(doc.Content) > 0 {
		if doc.Content[0].Kind != yaml.MappingNode {
			return nil, false
		}
		t.root = doc.Content[0]
	}
	if len(data) > 0 {
		t.starts = append(t.starts, 0)
	}
	for i, c := range data {
		if c == '\n' && i+1 < len(data) {
			t.starts = append(t.starts, i+1)
		}
	}
	if i := bytes.IndexByte(data, '\n'); i > 0 && data[i-1] == '\r' {
		t.eol = "\r\n"
	}
	if t.root != nil && t.root.Style&yaml.FlowStyle == 0 {
		for i := 0; i+1 < len(t.root.Content); i += 2 {
			k, v := t.root.Content[i], t.root.Content[i+1]
			if v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 && v.Content[0].Column > k.Column {
				t.indent = v.Content[0].Column - k.Column
				break
			}
		}
	}
	return t, true
}

// apply returns data with the edits made; edits must not overlap.
func (t *text) apply(edits []edit) []byte {
	sort.Slice(edits, func(i, j int) bool { return edits[i].from > edits[j].from })
	out := append([]byte(nil), t.data...)
	for _, e := range edits {
		out = append(out[:e.from], append([]byte(e.s), out[e.to:]...)...)
	}
	return out
}

func (t *text) lastLine() int { return len(t.starts) }

// lineEnd is the offset of the end of line n's content, before its line ending.
func (t *text) lineEnd(n int) int {
	end := len(t.data)
	if n < len(t.starts) {
		end = t.starts[n]
	}
	if end > t.starts[n-1] && t.data[end-1] == '\n' {
		end--
	}
	if end > t.starts[n-1] && t.data[end-1] == '\r' {
		end--
	}
	return end
}

func (t *text) line(n int) string { return string(t.data[t.starts[n-1]:t.lineEnd(n)]) }

// off is the byte offset where n starts (yaml.Node columns count characters).
func (t *text) off(n *yaml.Node) int {
	if n.Line < 1 || n.Line > len(t.starts) {
		return -1
	}
	o := t.starts[n.Line-1]
	for c := 1; c < n.Column && o < len(t.data); c++ {
		_, size := utf8.DecodeRune(t.data[o:])
		o += size
	}
	return o
}

// trailing reports whether line n is blank, or a comment indented no deeper than col spaces: lines that end an
// entry without belonging to it (they separate it from, or introduce, what follows).
func (t *text) trailing(n, col int) bool {
	l := t.line(n)
	s := strings.TrimLeft(l, " \t")
	return s == "" || (s[0] == '#' && len(l)-len(s) <= col)
}

// entryEnd is the last line of the block mapping entry whose key is m.Content[i]; limit is the last line the
// mapping may reach.
func (t *text) entryEnd(m *yaml.Node, i, limit int) int {
	k := m.Content[i]
	end := limit
	if i+2 < len(m.Content) {
		end = m.Content[i+2].Line - 1
	}
	for end > k.Line && t.trailing(end, k.Column-1) {
		end--
	}
	return end
}

// set sets section.key to val.
func (t *text) set(section, key string, val *yaml.Node) ([]edit, bool) {
	if t.root == nil {
		return t.appendRoot(section, mapping(key, val))
	}
	j := index(t.root, section)
	if j < 0 {
		return t.add(t.root, t.lastLine(), section, mapping(key, val))
	}
	sec := t.root.Content[j+1]
	if sec.Kind == yaml.AliasNode || sec.Anchor != "" {
		return nil, false
	}
	if sec.Kind != yaml.MappingNode {
		return t.replace(t.root, j, t.lastLine(), mapping(key, val))
	}
	limit := t.lastLine()
	if t.root.Style&yaml.FlowStyle == 0 {
		limit = t.entryEnd(t.root, j, t.lastLine())
	}
	if i := index(sec, key); i >= 0 {
		return t.replace(sec, i, limit, val)
	}
	return t.add(sec, limit, key, val)
}

// replace replaces the value of the entry whose key is m.Content[i] with val.
func (t *text) replace(m *yaml.Node, i, limit int, val *yaml.Node) ([]edit, bool) {
	k, old := m.Content[i], m.Content[i+1]
	if sameValue(old, val) {
		return nil, true
	}
	if old.Kind == yaml.AliasNode || old.Anchor != "" {
		return nil, false
	}
	flowOld := old.Kind != yaml.ScalarNode && old.Style&yaml.FlowStyle != 0
	if m.Style&yaml.FlowStyle != 0 || (flowOld && old.Line == k.Line) {
		// Within the line: the value's characters only, so what follows it (a comment) stays.
		a := t.off(old)
		b, ok := t.scalarEnd(a, m.Style&yaml.FlowStyle != 0)
		s, ok2 := renderFlow(val)
		if !ok || !ok2 {
			return nil, false
		}
		return []edit{t.realign(a, b, s)}, true
	}
	// The entry's lines, from its key on.
	end := t.entryEnd(m, i, limit)
	if old.Kind != yaml.ScalarNode && !flowOld {
		val = blockTop(val)
	}
	s, ok := t.renderEntry(k, val)
	if !ok {
		return nil, false
	}
	if !flowOld && old.Kind != yaml.ScalarNode && old.Line > k.Line {
		// Keep a comment after the key (`key:   # why`) where it was.
		if col, c, ok := t.keyComment(k); ok && !strings.Contains(firstLine(s), "#") {
			// s starts at the key, not at the line's start.
			s = padComment(firstLine(s), col-(k.Column-1), c) + s[len(firstLine(s)):]
		}
	}
	return []edit{{t.off(k), t.lineEnd(end), s}}, true
}

// add adds key: val to the mapping m, after its last entry.
func (t *text) add(m *yaml.Node, limit int, key string, val *yaml.Node) ([]edit, bool) {
	if m.Style&yaml.FlowStyle != 0 {
		s, ok := renderFlow(mapping(key, val))
		if !ok {
			return nil, false
		}
		s = s[1 : len(s)-1]
		if len(m.Content) == 0 {
			b, ok := t.scalarEnd(t.off(m), true)
			if !ok {
				return nil, false
			}
			return []edit{{b - 1, b - 1, s}}, true
		}
		b, ok := t.scalarEnd(t.off(m.Content[len(m.Content)-1]), true)
		if !ok {
			return nil, false
		}
		// Entries on lines of their own (a multi-line {…}): the new one on a line of its own too.
		if k := m.Content[len(m.Content)-2]; k.Line > m.Line {
			if prefix := string(t.data[t.starts[k.Line-1]:t.off(k)]); strings.TrimSpace(prefix) == "" {
				return []edit{{b, b, "," + t.eol + prefix + s}}, true
			}
		}
		return []edit{{b, b, ", " + s}}, true
	}
	if len(m.Content) == 0 {
		return nil, false
	}
	// An entry in the style of the one before it; a new section in block style.
	last := m.Content[len(m.Content)-1]
	switch {
	case m == t.root:
		val = blockTop(val)
	case last.Kind != yaml.ScalarNode && last.Style&yaml.FlowStyle != 0:
		val = flowAll(val)
	case last.Kind == yaml.MappingNode:
		val = blockTop(val)
	}
	s, ok := t.renderEntry(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, val)
	if !ok {
		return nil, false
	}
	end := t.entryEnd(m, len(m.Content)-2, limit)
	pad := strings.Repeat(" ", m.Content[0].Column-1)
	return []edit{{t.lineEnd(end), t.lineEnd(end), t.eol + pad + s}}, true
}

// appendRoot adds key: val to a document without content, after whatever comments it holds.
func (t *text) appendRoot(key string, val *yaml.Node) ([]edit, bool) {
	s, ok := t.renderEntry(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, val)
	if !ok {
		return nil, false
	}
	switch {
	case len(t.data) == 0:
		s += t.eol
	case t.data[len(t.data)-1] == '\n':
		s += t.eol
	default:
		s = t.eol + s
	}
	return []edit{{len(t.data), len(t.data), s}}, true
}

// remove removes section.key, with the comment lines right above it.
func (t *text) remove(section, key string) ([]edit, bool) {
	if t.root == nil {
		return nil, false
	}
	j := index(t.root, section)
	if j < 0 {
		return nil, false
	}
	sec := t.root.Content[j+1]
	i := index(sec, key)
	if sec.Kind != yaml.MappingNode || i < 0 {
		return nil, false
	}
	k, v := sec.Content[i], sec.Content[i+1]
	if sec.Style&yaml.FlowStyle != 0 {
		switch {
		case len(sec.Content) == 2:
			b, ok := t.scalarEnd(t.off(v), true)
			return []edit{{t.off(k), b, ""}}, ok
		case i+2 < len(sec.Content):
			return []edit{{t.off(k), t.off(sec.Content[i+2]), ""}}, true
		default:
			a, ok := t.scalarEnd(t.off(sec.Content[i-1]), true)
			b, ok2 := t.scalarEnd(t.off(v), true)
			return []edit{{a, b, ""}}, ok && ok2
		}
	}
	if t.root.Style&yaml.FlowStyle != 0 {
		return nil, false
	}
	end := t.entryEnd(sec, i, t.entryEnd(t.root, j, t.lastLine()))
	start := k.Line
	for start > 1 && isComment(t.line(start-1), k.Column-1) {
		start--
	}
	var edits []edit
	if end < t.lastLine() {
		to := t.starts[end]
		// One blank line between the neighbours is enough, and none after the section's key.
		if start > 1 && end+1 < t.lastLine() && (blank(t.line(start-1)) || start-1 == t.root.Content[j].Line) && blank(t.line(end+1)) {
			to = t.starts[end+1]
		}
		edits = append(edits, edit{t.starts[start-1], to, ""})
	} else {
		edits = append(edits, edit{t.lineEnd(start - 1), t.lineEnd(end), ""})
	}
	if len(sec.Content) == 2 {
		// The section stays, empty.
		colon, ok := t.keyColon(t.root.Content[j])
		if !ok {
			return nil, false
		}
		edits = append(edits, edit{colon, colon, " {}"})
	}
	return edits, true
}

// addSchemaFile adds file to the schema: list (the caller has checked it is not there).
func (t *text) addSchemaFile(file string) ([]edit, bool) {
	item := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: file}
	list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Content: []*yaml.Node{item}}
	if t.root == nil {
		return t.appendRoot("schema", list)
	}
	j := index(t.root, "schema")
	if j < 0 {
		return t.add(t.root, t.lastLine(), "schema", list)
	}
	s := t.root.Content[j+1]
	f, ok := renderFlow(item)
	if !ok || s.Anchor != "" || s.Kind == yaml.AliasNode {
		return nil, false
	}
	switch {
	case s.Kind == yaml.ScalarNode:
		a := t.off(s)
		b, ok := t.scalarEnd(a, t.root.Style&yaml.FlowStyle != 0)
		return []edit{t.realign(a, b, "["+string(t.data[a:b])+", "+f+"]")}, ok
	case s.Kind == yaml.SequenceNode && s.Style&yaml.FlowStyle != 0:
		if len(s.Content) == 0 {
			b, ok := t.scalarEnd(t.off(s), true)
			return []edit{{b - 1, b - 1, f}}, ok
		}
		b, ok := t.scalarEnd(t.off(s.Content[len(s.Content)-1]), true)
		return []edit{{b, b, ", " + f}}, ok
	case s.Kind == yaml.SequenceNode:
		last := s.Content[len(s.Content)-1]
		if last.Kind != yaml.ScalarNode {
			return nil, false
		}
		prefix := t.data[t.starts[last.Line-1]:t.off(last)]
		return []edit{{t.lineEnd(last.Line), t.lineEnd(last.Line), t.eol + string(prefix) + f}}, true
	}
	return nil, false
}

// scalarEnd is the offset just past the value that starts at a: a flow collection, a quoted scalar, or a plain
// one on one line (inFlow: inside a flow collection, where , ] } end it too). ok is false for what it cannot
// delimit (anchors, aliases, tags, block scalars).
func (t *text) scalarEnd(a int, inFlow bool) (int, bool) {
	d := t.data
	if a < 0 || a >= len(d) {
		return 0, false
	}
	switch d[a] {
	case '{', '[':
		depth, prev := 0, byte('[')
		for i := a; i < len(d); i++ {
			c := d[i]
			switch {
			case (c == '"' || c == '\'') && strings.IndexByte("{[,:", prev) >= 0:
				end, ok := t.scalarEnd(i, true)
				if !ok {
					return 0, false
				}
				i = end - 1
			case c == '#' && i > a && (d[i-1] == ' ' || d[i-1] == '\t' || d[i-1] == '\n'):
				for i < len(d) && d[i] != '\n' {
					i++
				}
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				prev = c
			}
		}
		return 0, false
	case '"':
		for i := a + 1; i < len(d); i++ {
			switch d[i] {
			case '\\':
				i++
			case '"':
				return i + 1, true
			}
		}
		return 0, false
	case '\'':
		for i := a + 1; i < len(d); i++ {
			if d[i] == '\'' {
				if i+1 < len(d) && d[i+1] == '\'' {
					i++
					continue
				}
				return i + 1, true
			}
		}
		return 0, false
	case '&', '*', '!', '|', '>', '\r', '\n':
		return 0, false
	}
	i := a
	for ; i < len(d); i++ {
		c := d[i]
		if c == '\n' || c == '\r' ||
			(c == '#' && (d[i-1] == ' ' || d[i-1] == '\t')) ||
			(c == ':' && (i+1 == len(d) || strings.IndexByte(" \t\r\n", d[i+1]) >= 0)) ||
			(inFlow && (c == ',' || c == ']' || c == '}')) {
			break
		}
	}
	for i > a && (d[i-1] == ' ' || d[i-1] == '\t') {
		i--
	}
	return i, i > a
}

// keyColon is the offset just past the colon that ends the block mapping key k.
func (t *text) keyColon(k *yaml.Node) (int, bool) {
	b, ok := t.scalarEnd(t.off(k), false)
	for ok && b < len(t.data) && (t.data[b] == ' ' || t.data[b] == '\t') {
		b++
	}
	if !ok || b >= len(t.data) || t.data[b] != ':' {
		return 0, false
	}
	return b + 1, true
}

// keyComment is the comment after the colon of key k's line (`key:   # why`) and the column it starts at.
func (t *text) keyComment(k *yaml.Node) (col int, comment string, ok bool) {
	colon, ok := t.keyColon(k)
	if !ok {
		return 0, "", false
	}
	rest := string(t.data[colon:t.lineEnd(k.Line)])
	comment = strings.TrimLeft(rest, " \t")
	if !strings.HasPrefix(comment, "#") || comment == rest {
		return 0, "", false
	}
	return utf8.RuneCount(t.data[t.starts[k.Line-1]:colon]) + len(rest) - len(comment), comment, true
}

// realign replaces data[a:b] with s and, when a comment follows on the line, keeps it at its column.
func (t *text) realign(a, b int, s string) edit {
	gap := 0
	for b+gap < len(t.data) && t.data[b+gap] == ' ' {
		gap++
	}
	if gap == 0 || b+gap >= len(t.data) || t.data[b+gap] != '#' {
		return edit{a, b, s}
	}
	n := gap + utf8.RuneCount(t.data[a:b]) - utf8.RuneCountInString(s)
	return edit{a, b + gap, s + strings.Repeat(" ", max(n, 1))}
}

// padComment appends comment to line at column col, or one space after line when it is longer.
func padComment(line string, col int, comment string) string {
	return line + strings.Repeat(" ", max(col-utf8.RuneCountInString(line), 1)) + comment
}

// renderEntry renders key: val as block YAML with the file's indentation and line ending; lines after the first
// are indented to the key's column.
func (t *text) renderEntry(k, val *yaml.Node) (string, bool) {
	key := &yaml.Node{Kind: yaml.ScalarNode, Tag: k.Tag, Style: k.Style, Value: k.Value}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(t.indent)
	if err := enc.Encode(&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{key, val}}); err != nil {
		return "", false
	}
	if err := enc.Close(); err != nil {
		return "", false
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	pad := strings.Repeat(" ", max(k.Column-1, 0))
	for i := 1; i < len(lines); i++ {
		if lines[i] != "" {
			lines[i] = pad + lines[i]
		}
	}
	return strings.Join(lines, t.eol), true
}

// renderFlow renders n on one line in flow style; ok is false when it cannot be.
func renderFlow(n *yaml.Node) (string, bool) {
	out, err := yaml.Marshal(flowAll(n))
	s := strings.TrimSuffix(string(out), "\n")
	if err != nil || strings.Contains(s, "\n") {
		return "", false
	}
	return s, true
}

// flowAll returns a copy of n in flow style throughout, without comments.
func flowAll(n *yaml.Node) *yaml.Node {
	c := *n
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	switch {
	case c.Kind == yaml.MappingNode || c.Kind == yaml.SequenceNode:
		c.Style |= yaml.FlowStyle
	case c.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		c.Style = yaml.DoubleQuotedStyle
	}
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, e := range n.Content {
		c.Content[i] = flowAll(e)
	}
	return &c
}

// blockTop returns a copy of n whose top level is in block style (the entries keep theirs).
func blockTop(n *yaml.Node) *yaml.Node {
	c := *n
	if len(c.Content) > 0 {
		c.Style &^= yaml.FlowStyle
	}
	return &c
}

func mapping(key string, val *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, val}}
}

// index is the index in m.Content of key's key node, or -1.
func index(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

func isComment(l string, col int) bool {
	s := strings.TrimLeft(l, " \t")
	return strings.HasPrefix(s, "#") && len(l)-len(s) == col
}

func blank(l string) bool { return strings.TrimSpace(l) == "" }

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// sameValue reports whether a and b mean the same YAML value, whatever their style.
func sameValue(a, b *yaml.Node) bool {
	var x, y any
	return a.Decode(&x) == nil && b.Decode(&y) == nil && reflect.DeepEqual(x, y)
}

// sameYAML reports whether data means the document want.
func sameYAML(data []byte, want *yaml.Node) bool {
	var x, y any
	if yaml.Unmarshal(data, &x) != nil {
		return false
	}
	if len(want.Content) > 0 && want.Content[0].Decode(&y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
