package graph

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"
)

// The static cost of an operation (issue 13) estimates how many values its answer holds before anything is
// fetched, so that an operation whose answer would explode — a query that walks a cycle of the schema, lists
// under lists — is refused with COST_LIMIT_EXCEEDED at no cost to any backend.
//
// Every selected field costs 1 for each expected instance of its parent object (__typename costs nothing). A list
// field multiplies the instances below it by its expected length, per list level:
//   - the value the operation gives to the field's first slicing argument (a binding's listSize.slicingArguments,
//     else any Int argument named first, last or limit), from a literal, a variable or the argument's default;
//   - else the binding's listSize.assumedSize;
//   - else server.defaultListSize.
//
// An abstract field costs its most expensive possible type. Lists inside introspection (__schema, __type) count
// once: their lengths are the schema's own, and validation bounds their nesting.
//
// Costs saturate at math.MaxInt64, so no operation overflows into a small number.

// Cost codes of the refusals the planner makes.
const (
	CodeCostLimit  = "COST_LIMIT_EXCEEDED"
	CodeDepthLimit = "DEPTH_LIMIT_EXCEEDED"
	CodeAliasLimit = "ALIAS_LIMIT_EXCEEDED"
)

// defaultSlicingArguments are the arguments whose Int value bounds a list field's length when its binding
// declares no listSize.slicingArguments.
var defaultSlicingArguments = []string{"first", "last", "limit"}

// Cost returns the plan's estimated cost for one request's variables. When the estimate does not depend on
// the variables it was computed at planning time and is returned as is.
func (p *Plan) Cost(vars map[string]any, defaultListSize int) int64 {
	if !p.costByVars {
		return p.cost
	}
	return selectionCost(p.Root, 1, vars, defaultListSize, new(bool))
}

// checkCost returns the refusal of an operation whose cost is over max (0: no limit).
func checkCost(cost int64, max int, loc *ast.Position) error {
	if max <= 0 || cost <= int64(max) {
		return nil
	}
	return &PlanError{Code: CodeCostLimit, Location: loc,
		Message:    fmt.Sprintf("the operation's estimated cost is %d; the limit is %d: ask for fewer fields or smaller lists (first/limit arguments)", cost, max),
		Extensions: map[string]any{"cost": cost, "maxCost": max}}
}

// CheckCost refuses the operation when its cost for vars is over the configured server.maxCost. A plan whose
// cost does not depend on variables was already checked when it was planned.
func (p *Plan) CheckCost(vars map[string]any, defaultListSize, max int, loc *ast.Position) error {
	if !p.costByVars {
		return nil
	}
	return checkCost(p.Cost(vars, defaultListSize), max, loc)
}

// selectionCost is the cost of sel for mult instances of its object. byVars is set when a list length came from
// a variable.
func selectionCost(sel *Selection, mult int64, vars map[string]any, defaultListSize int, byVars *bool) int64 {
	var total int64
	for _, f := range sel.Fields {
		total = addSat(total, fieldCost(f, mult, vars, defaultListSize, byVars))
	}
	return total
}

func fieldCost(f *Field, mult int64, vars map[string]any, defaultListSize int, byVars *bool) int64 {
	switch f.Kind {
	case FieldTypename:
		return 0
	case FieldSchema, FieldType:
		// Introspection lists have the schema's own lengths: count each field once.
		return addSat(mult, introspectionCost(f, mult))
	}
	cost := mult
	if f.Object == nil && f.ByType == nil {
		return cost
	}
	n := mult
	if levels := listDepth(f.Def.Type); levels > 0 {
		size := listSize(f, vars, defaultListSize, byVars)
		for range levels {
			n = mulSat(n, size)
		}
	}
	if f.Object != nil {
		return addSat(cost, selectionCost(f.Object, n, vars, defaultListSize, byVars))
	}
	var most int64
	for _, sel := range f.ByType {
		most = max(most, selectionCost(sel, n, vars, defaultListSize, byVars))
	}
	return addSat(cost, most)
}

// introspectionCost counts the fields below an introspection field once per instance of it.
func introspectionCost(f *Field, mult int64) int64 {
	var total int64
	var walk func(sel *Selection)
	walk = func(sel *Selection) {
		for _, c := range sel.Fields {
			if c.Kind != FieldTypename {
				total = addSat(total, mult)
			}
			if c.Object != nil {
				walk(c.Object)
			}
			for _, s := range c.ByType {
				walk(s)
			}
		}
	}
	if f.Object != nil {
		walk(f.Object)
	}
	for _, s := range f.ByType {
		walk(s)
	}
	return total
}

// listSize is the expected length of list field f: its first slicing argument's value, else its binding's
// assumed size, else the server's default.
func listSize(f *Field, vars map[string]any, defaultListSize int, byVars *bool) int64 {
	names := defaultSlicingArguments
	assumed := int64(defaultListSize)
	if f.Binding != nil && f.Binding.ListSize != nil {
		if f.Binding.ListSize.SlicingArguments != nil {
			names = f.Binding.ListSize.SlicingArguments
		}
		if f.Binding.ListSize.AssumedSize > 0 {
			assumed = int64(f.Binding.ListSize.AssumedSize)
		}
	}
	for _, name := range names {
		def := f.Def.Arguments.ForName(name)
		if def == nil || def.Type.Elem != nil || def.Type.NamedType != "Int" {
			continue
		}
		var v any
		if arg := f.Arguments.ForName(name); arg != nil {
			if arg.Value.Kind == ast.Variable {
				*byVars = true
				v = vars[arg.Value.Raw]
				if v == nil && def.DefaultValue != nil {
					v, _ = def.DefaultValue.Value(nil)
				}
			} else {
				v, _ = arg.Value.Value(vars)
			}
		} else if def.DefaultValue != nil {
			v, _ = def.DefaultValue.Value(nil)
		}
		if n, ok := intValue(v); ok {
			return max(n, 0)
		}
	}
	return assumed
}

// intValue reads an Int argument's value as it arrives from a literal (int64) or from JSON variables.
func intValue(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case int:
		return int64(v), true
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > math.MaxInt64/2 {
			return 0, false
		}
		return int64(v), true
	case json.Number:
		n, err := strconv.ParseInt(string(v), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func mulSat(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}
