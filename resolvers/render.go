package resolvers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
)

// Vars is what templates read while rendering one request. It is read-only during rendering.
type Vars struct {
	// Args are the field's arguments after variable substitution and input coercion.
	Args map[string]any
	// Parent is the parent object as its backend returned it (JSON-decoded with json.Number).
	Parent any
	// Headers are the incoming request's headers.
	Headers http.Header
	// Env holds the environment variables captured when the configuration was loaded.
	Env map[string]string
	// Keys are the distinct batch keys, in the order they were first loaded; set only for a batch request.
	Keys []any
	// JWT holds the validated claims of the request's token (issue 16); nil for an anonymous request or a
	// binding whose templates do not read {{jwt.*}}.
	JWT Claims
}

// InputError is a template that cannot be rendered from the client's input, such as an empty path segment.
// It is the client's to fix, so it is reported with code BAD_USER_INPUT.
type InputError struct {
	Binding string
	Msg     string
}

func (e *InputError) Error() string { return e.Binding + ": " + e.Msg }

// lookup returns the value of v, and false when it is absent or null.
func (vs *Vars) lookup(v *schema.Var) (any, bool) {
	var cur any
	switch v.Scope {
	case schema.ScopeArgs:
		a, ok := vs.Args[v.Path[0]]
		if !ok {
			return nil, false
		}
		cur = Dig(a, v.Path[1:])
	case schema.ScopeParent:
		cur = Dig(vs.Parent, v.Path)
	case schema.ScopeEnv:
		s, ok := vs.Env[strings.Join(v.Path, ".")]
		return s, ok
	case schema.ScopeHeaders:
		vals := vs.Headers.Values(v.Path[0])
		if len(vals) == 0 {
			return nil, false
		}
		return strings.Join(vals, ", "), true
	case schema.ScopeKeys:
		return vs.Keys, true
	case schema.ScopeJWT:
		if v.Path[0] == "claims" {
			cur = Dig(map[string]any(vs.JWT), v.Path[1:])
		} else {
			cur = vs.JWT[v.Path[0]]
		}
	}
	return cur, cur != nil
}

// Dig follows a dotted path through JSON objects (and numeric indexes of lists); nil when it leads nowhere.
func Dig(v any, path []string) any {
	for _, p := range path {
		switch t := v.(type) {
		case map[string]any:
			v = t[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(t) {
				return nil
			}
			v = t[i]
		default:
			return nil
		}
	}
	return v
}

// Text renders a JSON-shaped value as text: strings as they are, numbers and booleans in JSON form, lists and
// objects as JSON, null as "".
func Text(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	case int:
		return strconv.Itoa(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case int32:
		return strconv.FormatInt(int64(t), 10)
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1e15 {
			return strconv.FormatInt(int64(t), 10)
		}
		return strconv.FormatFloat(t, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(t), 'f', -1, 32)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// renderText renders t as text, each variable as its Text.
func renderText(t *schema.Template, vs *Vars) string {
	if len(t.Segments) == 1 && t.Segments[0].Var == nil {
		return t.Segments[0].Literal
	}
	var b strings.Builder
	for _, s := range t.Segments {
		if s.Var == nil {
			b.WriteString(s.Literal)
			continue
		}
		v, _ := vs.lookup(s.Var)
		b.WriteString(Text(v))
	}
	return b.String()
}

// renderPath renders a path template so that no input can change the path's structure (issue 13). Each variable
// is escaped for one path segment, so it never adds a "/", "?" or "#" and the path keeps the template's segments.
// The rule is then decided on each whole rendered segment that holds a variable, literal text included: it may
// not be empty, "." or ".." in any spelling (dotSegment), so neither `..` nor `/files/.{{a}}` with a = "." can
// climb. A variable whose value is empty (or absent), a list or an object is refused, except {{keys}}: the
// explicit comma-joined key list of a batch request, which must hold at least one key and no empty one. Every
// refusal is an InputError (BAD_USER_INPUT): the request is never sent.
func renderPath(t *schema.Template, vs *Vars, binding string) (string, error) {
	var b strings.Builder
	b.Grow(len(t.Raw) + 16) // the variables' names usually outweigh their values: one allocation
	start := 0              // where the current segment starts in b
	var first *schema.Var   // the current segment's first variable; nil when it has none
	for _, s := range t.Segments {
		if s.Var == nil {
			lit := s.Literal
			for {
				i := strings.IndexByte(lit, '/')
				if i < 0 {
					appendLiteral(&b, lit)
					break
				}
				appendLiteral(&b, lit[:i])
				if first != nil {
					if err := checkSegment(b.String()[start:], first, binding); err != nil {
						return "", err
					}
				}
				b.WriteByte('/')
				start, first, lit = b.Len(), nil, lit[i+1:]
			}
			continue
		}
		if first == nil {
			first = s.Var
		}
		v, _ := vs.lookup(s.Var)
		if err := writeSegmentValue(&b, s.Var, v, binding); err != nil {
			return "", err
		}
	}
	if first != nil {
		if err := checkSegment(b.String()[start:], first, binding); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// writeSegmentValue writes v, the value of the path variable pv, escaped into b, or says why it cannot be part of
// a path segment.
func writeSegmentValue(b *strings.Builder, pv *schema.Var, v any, binding string) error {
	switch t := v.(type) {
	case []any:
		if pv.Scope != schema.ScopeKeys {
			return &InputError{Binding: binding, Msg: fmt.Sprintf("{{%s}} is a list, and a request path segment takes one value", pv)}
		}
		if len(t) == 0 {
			return &InputError{Binding: binding, Msg: "{{keys}} is empty, and the request path needs it"}
		}
		for i, e := range t {
			text := Text(e)
			if text == "" {
				return &InputError{Binding: binding, Msg: "{{keys}} holds an empty key, and the request path needs each one"}
			}
			if i > 0 {
				b.WriteByte(',')
			}
			appendEscaped(b, text)
		}
		return nil
	case map[string]any:
		return &InputError{Binding: binding, Msg: fmt.Sprintf("{{%s}} is an object, and a request path segment takes one value", pv)}
	}
	text := Text(v)
	if text == "" {
		return &InputError{Binding: binding, Msg: fmt.Sprintf("{{%s}} is empty, and the request path needs it", pv)}
	}
	appendEscaped(b, text)
	return nil
}

// checkSegment refuses a rendered segment (escaped) that holds a variable, first, when it is empty, "." or "..".
// Only the part before a ";" counts: servers such as Tomcat strip ";params" from a segment before they resolve
// dot segments, so "..;x" climbs there.
func checkSegment(seg string, first *schema.Var, binding string) error {
	name := seg
	if i := strings.IndexByte(seg, ';'); i >= 0 {
		name = seg[:i]
	}
	switch {
	case name == "":
		return &InputError{Binding: binding, Msg: fmt.Sprintf("{{%s}} would make an empty request path segment", first)}
	case dotSegment(name):
		return &InputError{Binding: binding, Msg: fmt.Sprintf(`{{%s}} would make the request path segment "." or ".."`, first)}
	}
	return nil
}

// dotSegment reports whether the escaped segment name is "." or ".." once percent-decoded, however many times:
// ".", "..", "%2E", "%2e%2E", ".%2E" (which WHATWG parsers such as Node's resolve as dot segments, RFC 3986 ones
// not), and "%252E" for a backend that decodes twice. It decides in one scan without decoding, so a long value
// costs linear time (decoding round after round took quadratic time on "%2525…252E": seconds for one 100 KB
// argument). Decoding can only make a "." (from "%2E") or a "%" (from "%25"), so such a name is one or two dots,
// each "." or "%" ("25")* "2E" in either case of E; anything else keeps a byte that never decodes away.
func dotSegment(name string) bool {
	dots := 0
	for i := 0; i < len(name); dots++ {
		if dots == 2 {
			return false
		}
		switch name[i] {
		case '.':
			i++
			continue
		case '%':
		default:
			return false
		}
		i++
		for i+1 < len(name) && name[i] == '2' && name[i+1] == '5' {
			i += 2
		}
		if i+1 >= len(name) || name[i] != '2' || (name[i+1] != 'E' && name[i+1] != 'e') {
			return false
		}
		i += 2
	}
	return dots > 0
}

// appendLiteral writes the literal text of a path template (without "/"), escaping the bytes a path cannot carry
// as they are (a space, "?", "#", "|", a control character, a "%" that starts no escape…: whatever
// sources.PathByte refuses), as net/url would have escaped them when sending; an escape the configuration wrote
// stays. Most literals have none and are copied as they are.
func appendLiteral(b *strings.Builder, lit string) {
	const hex = "0123456789ABCDEF"
	start := 0
	for i := 0; i < len(lit); i++ {
		if sources.PathByte(lit, i) {
			continue
		}
		c := lit[i]
		b.WriteString(lit[start:i])
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
		start = i + 1
	}
	b.WriteString(lit[start:])
}

// appendEscaped writes s escaped for one path segment (RFC 3986 pchar), escaping "," too so that a comma-joined
// key list stays unambiguous. A backslash is escaped as well, which WHATWG parsers would read as "/".
func appendEscaped(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~!$&'()*+;=:@", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}

// renderParam renders a query parameter or header to its values. A single-variable template whose value is a
// list repeats the parameter; one whose value is absent or null leaves the parameter out.
func renderParam(p schema.Param, vs *Vars) []string {
	var out []string
	for _, t := range p.Values {
		if v := t.Single(); v != nil {
			val, ok := vs.lookup(v)
			if !ok {
				continue
			}
			if list, isList := val.([]any); isList {
				for _, e := range list {
					out = append(out, Text(e))
				}
				continue
			}
			out = append(out, Text(val))
			continue
		}
		out = append(out, renderText(t, vs))
	}
	return out
}

// renderValue renders a Value to a JSON-shaped Go value. A template that is exactly one variable inserts the
// variable's value as it is; any other template renders to a string.
func renderValue(v *schema.Value, vs *Vars) any {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case schema.ValueScalar:
		return v.Scalar
	case schema.ValueTemplate:
		if one := v.Template.Single(); one != nil {
			val, _ := vs.lookup(one)
			return val
		}
		return renderText(v.Template, vs)
	case schema.ValueList:
		out := make([]any, len(v.List))
		for i, e := range v.List {
			out[i] = renderValue(e, vs)
		}
		return out
	case schema.ValueObject:
		out := make(map[string]any, len(v.Fields))
		for _, f := range v.Fields {
			out[f.Name] = renderValue(f.Value, vs)
		}
		return out
	}
	return nil
}

// renderBody renders a request body to JSON.
func renderBody(v *schema.Value, vs *Vars) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(renderValue(v, vs)); err != nil {
		return nil, fmt.Errorf("encode body: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
