package graph

import (
	"encoding/json"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"
)

// coerceArgs computes a field's argument values for one request: literals and variables, then the argument
// defaults, then input coercion (defaults of input-object fields, ID as a string, a single value where a list is
// expected). An argument that is neither given nor defaulted is left out of the map.
func coerceArgs(s *ast.Schema, defs ast.ArgumentDefinitionList, args ast.ArgumentList, vars map[string]any) map[string]any {
	if len(defs) == 0 {
		return nil
	}
	out := make(map[string]any, len(defs))
	for _, def := range defs {
		var v any
		given := false
		if arg := args.ForName(def.Name); arg != nil {
			if arg.Value.Kind == ast.Variable {
				v, given = vars[arg.Value.Raw]
			} else {
				v, _ = arg.Value.Value(vars)
				given = true
			}
		}
		if !given && def.DefaultValue != nil {
			v, _ = def.DefaultValue.Value(nil)
			given = true
		}
		if given {
			out[def.Name] = coerceInput(s, v, def.Type)
		}
	}
	return out
}

// coerceInput coerces an input value to type t. Values were validated by gqlparser, so anything unexpected is
// passed through unchanged.
func coerceInput(s *ast.Schema, v any, t *ast.Type) any {
	if v == nil {
		return nil
	}
	if t.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			return []any{coerceInput(s, v, t.Elem)}
		}
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = coerceInput(s, e, t.Elem)
		}
		return out
	}
	def := s.Types[t.NamedType]
	if def == nil {
		return v
	}
	switch def.Kind {
	case ast.InputObject:
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := make(map[string]any, len(def.Fields))
		for _, f := range def.Fields {
			fv, present := m[f.Name]
			if !present && f.DefaultValue != nil {
				fv, _ = f.DefaultValue.Value(nil)
				present = true
			}
			if present {
				out[f.Name] = coerceInput(s, fv, f.Type)
			}
		}
		return out
	case ast.Scalar:
		switch def.Name {
		case "ID":
			switch n := v.(type) {
			case int64:
				return strconv.FormatInt(n, 10)
			case int:
				return strconv.Itoa(n)
			case json.Number:
				return n.String()
			case float64:
				return strconv.FormatFloat(n, 'f', -1, 64)
			}
		case "Int":
			switch n := v.(type) {
			case json.Number:
				if i, err := n.Int64(); err == nil {
					return i
				}
			case float64:
				return int64(n)
			case int:
				return int64(n)
			}
		case "Float":
			switch n := v.(type) {
			case json.Number:
				if f, err := n.Float64(); err == nil {
					return f
				}
			case int64:
				return float64(n)
			case int:
				return float64(n)
			}
		}
	}
	return v
}
