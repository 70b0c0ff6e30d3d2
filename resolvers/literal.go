package resolvers

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vektah/gqlparser/v2/ast"
)

// The one printer of GraphQL values into upstream documents (issue 13). Client values travel as variables;
// what is still printed as a literal (config values, text templates, values whose type cannot be named) goes
// through writeLiteral, which escapes every string and refuses object keys that are not GraphQL Names, so no
// value can close a string, an object or a selection and add a field, fragment, directive or operation.

// errLiteral is a value writeLiteral refuses; the caller reports it as the client's (BAD_USER_INPUT).
var errLiteral = errors.New("value cannot be sent as a GraphQL literal")

// writeLiteral writes a JSON-shaped value (nil, bool, string, json.Number, Go numbers, []any, map[string]any)
// as a GraphQL literal. Object keys are written in sorted order. It refuses, writing a partial literal, an
// object key that is not a Name, a number that is not finite, and a value of any other Go type that does not
// marshal to JSON.
func writeLiteral(b *strings.Builder, v any) error {
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		writeString(b, t)
	case bool:
		b.WriteString(strconv.FormatBool(t))
	case json.Number:
		if !isNumber(string(t)) {
			return fmt.Errorf("%w: %s is not a number", errLiteral, short(string(t)))
		}
		b.WriteString(string(t))
	case int:
		b.WriteString(strconv.Itoa(t))
	case int64:
		b.WriteString(strconv.FormatInt(t, 10))
	case int32:
		b.WriteString(strconv.FormatInt(int64(t), 10))
	case float64:
		return writeFloat(b, t, 64)
	case float32:
		return writeFloat(b, float64(t), 32)
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			if !IsName(k) {
				return fmt.Errorf("%w: the object key %s is not a GraphQL name", errLiteral, short(k))
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteString(": ")
			if err := writeLiteral(b, t[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeLiteral(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		// Any other Go value is printed as the JSON it marshals to, decoded into the shapes above (decodeJSON
		// yields only those, so this recurses once).
		raw, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("%w: %w", errLiteral, err)
		}
		dv, err := decodeJSON(raw)
		if err != nil {
			return fmt.Errorf("%w: %w", errLiteral, err)
		}
		return writeLiteral(b, dv)
	}
	return nil
}

// short quotes s for an error message, cut to 32 bytes: a refusal names the value, it does not echo it.
func short(s string) string {
	const max = 32
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

func writeFloat(b *strings.Builder, f float64, bits int) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("%w: %v is not a finite number", errLiteral, f)
	}
	b.WriteString(strconv.FormatFloat(f, 'g', -1, bits))
	return nil
}

// writeString writes s as a GraphQL string literal: '"' and '\' escaped, every control character (and DEL) as
// \uXXXX or its short escape, and each byte that is not valid UTF-8 as \uFFFD (what encoding/json does to the
// whole request body anyway).
func writeString(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
			if c < utf8.RuneSelf {
				i++
				continue
			}
			if r, size := utf8.DecodeRuneInString(s[i:]); r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		b.WriteString(s[start:i])
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c >= utf8.RuneSelf {
				b.WriteString(`\uFFFD`)
			} else {
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&15])
			}
		}
		i++
		start = i
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

// IsName reports whether s is a GraphQL Name: /[_A-Za-z][_0-9A-Za-z]*/.
func IsName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// isNumber reports whether s is a GraphQL IntValue or FloatValue: the grammar of a JSON number, which
// jsonParser.skipNumber checks.
func isNumber(s string) bool {
	p := jsonParser{data: []byte(s)}
	return s != "" && p.skipNumber() == nil && p.pos == len(s)
}

// VarType is the type a variable holding v is declared with when its type comes from the public schema t: t's
// named type and list structure, non-null wherever v (every item, at each list depth) is non-null. A variable of
// that type is allowed wherever t, or any stricter nullability of it, is expected, so it fits the upstream
// argument whichever nullability the upstream gives it.
func VarType(t *ast.Type, v any) string {
	var b strings.Builder
	writeVarType(&b, t, []any{v})
	return b.String()
}

func writeVarType(b *strings.Builder, t *ast.Type, vals []any) {
	nonNull := true
	for _, v := range vals {
		if v == nil {
			nonNull = false
			break
		}
	}
	if t.Elem != nil {
		var items []any
		for _, v := range vals {
			if l, ok := v.([]any); ok {
				items = append(items, l...)
			} else if v != nil {
				items = append(items, v) // input coercion makes a single value a list of one
			}
		}
		b.WriteByte('[')
		writeVarType(b, t.Elem, items)
		b.WriteByte(']')
	} else {
		b.WriteString(t.NamedType)
	}
	if nonNull {
		b.WriteByte('!')
	}
}

// LiteralValue is the JSON-shaped value of a parsed GraphQL value, with variables read from vars (a variable
// that is absent takes its default, else is left out of an object and null elsewhere). Numbers stay exactly as
// written (json.Number), enum values become strings, as a variable's JSON value spells them.
func LiteralValue(v *ast.Value, vars map[string]any) any {
	out, _ := literalValue(v, vars)
	return out
}

func literalValue(v *ast.Value, vars map[string]any) (any, bool) {
	if v == nil {
		return nil, false
	}
	switch v.Kind {
	case ast.Variable:
		if val, ok := vars[v.Raw]; ok {
			return val, true
		}
		if v.VariableDefinition != nil && v.VariableDefinition.DefaultValue != nil {
			return literalValue(v.VariableDefinition.DefaultValue, nil)
		}
		return nil, false
	case ast.IntValue, ast.FloatValue:
		return json.Number(v.Raw), true
	case ast.StringValue, ast.BlockValue, ast.EnumValue:
		return v.Raw, true
	case ast.BooleanValue:
		return v.Raw == "true", true
	case ast.ListValue:
		out := make([]any, len(v.Children))
		for i, c := range v.Children {
			out[i], _ = literalValue(c.Value, vars)
		}
		return out, true
	case ast.ObjectValue:
		out := make(map[string]any, len(v.Children))
		for _, c := range v.Children {
			if cv, ok := literalValue(c.Value, vars); ok {
				out[c.Name] = cv
			}
		}
		return out, true
	}
	return nil, true // NullValue
}

// HasVariables reports whether v refers to a variable anywhere inside it.
func HasVariables(v *ast.Value) bool {
	if v == nil {
		return false
	}
	if v.Kind == ast.Variable {
		return true
	}
	for _, c := range v.Children {
		if HasVariables(c.Value) {
			return true
		}
	}
	return false
}
