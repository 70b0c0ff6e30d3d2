package graph

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// forward builds what a graphql fetch sends under its upstream root field: the client's sub-selection with its
// aliases, @skip/@include already applied, abstract types spelled out as inline fragments with __typename, the
// fields bound to other sources cut, and the parent fields their bindings read added. Client variables used in
// arguments are passed on as upstream variables, and so are the values the client wrote inline (issue 13). When
// the upstream schema is known, the selection is validated against it here, once per plan, so a mismatch is a
// clear error rather than an upstream failure per request.
func (p *planner) forward(f *Field) (*resolvers.Forward, error) {
	w := &forwardWriter{vars: map[string]bool{}, op: p.op, fetch: f.Fetch.ID}
	if fed := p.sg.Federation; fed != nil && fed.ByName[f.Binding.Source] != nil {
		w.keys = func(typ string) []string { return forwardedKeys(fed, f.Binding.Source, typ) }
	}
	// A batch matched by item fields needs them in every item, asked for or not.
	if bt := f.Binding.Batch; bt != nil && f.Fetch.Batched && bt.Entities == "" {
		for _, m := range bt.Match {
			w.extra = append(w.extra, m[0])
		}
	}
	fw := &resolvers.Forward{Selection: w.selection(f), Literals: w.literals}
	if w.err != nil {
		return nil, w.err
	}
	for _, name := range w.order {
		def := p.op.VariableDefinitions.ForName(name)
		if def == nil {
			continue
		}
		fw.Variables = append(fw.Variables, resolvers.ForwardVar{Name: name, Type: def.Type.String()})
	}
	src := p.sg.Sources[f.Binding.Source]
	if src == nil || src.Upstream == nil {
		return fw, nil
	}
	up := src.Upstream
	on := up.Query
	if p.op.Operation == ast.Mutation && f.Fetch.Parent == nil {
		on = up.Mutation
	}
	if p.op.Operation == ast.Subscription && f.Fetch.Parent == nil {
		on = up.Subscription
	}
	var onName string
	switch {
	case f.Binding.Batch != nil && f.Binding.Batch.Entities != "":
		onName = f.Binding.Batch.Entities
	case on != nil:
		onName = on.Name
	default:
		return nil, &PlanError{Message: fmt.Sprintf("source %s has no upstream %s type", f.Binding.Source, p.op.Operation), Location: f.Location}
	}
	var args []string
	bindingArgs := f.Binding.Args
	if f.Binding.Batch != nil && f.Binding.Batch.Args != nil && f.Fetch.Batched {
		bindingArgs = f.Binding.Batch.Args
	}
	for _, a := range bindingArgs {
		args = append(args, a.Name+": $_"+a.Name)
	}
	call := f.Binding.UpstreamField
	if bt := f.Binding.Batch; bt != nil && bt.UpstreamField != "" && f.Fetch.Batched {
		call = bt.UpstreamField
	}
	if len(args) > 0 {
		call += "(" + strings.Join(args, ", ") + ")"
	}
	doc := "fragment _conflux on " + onName + " { " + call + " " + fw.Selection + " }"
	rs := rules.NewDefaultRules()
	rs.RemoveRule("NoUnusedFragments")
	if _, errs := gqlparser.LoadQueryWithRules(up, doc, rs); len(errs) > 0 {
		return nil, &PlanError{Message: fmt.Sprintf("the selection of %s cannot be sent to source %s: %s", f.Binding.Name(), f.Binding.Source, errs[0].Message),
			Location: f.Location}
	}
	return fw, nil
}

// forwardWriter prints planned selections as GraphQL text. Not safe for concurrent use.
//
// No client value is printed (issue 13): an argument that is a client variable stays that variable, and any
// other argument value the client wrote inline becomes an upstream variable of its own, named after the fetch
// (_f<fetch>_<n>) so that two fetches with different inline values never share a selection text, and with it a
// batch loader. What the text holds besides is names the client's document parsed as Names (aliases, fields,
// types) and the planner's own.
type forwardWriter struct {
	b     strings.Builder
	vars  map[string]bool
	order []string
	// extra are fields the top level must carry (batch match fields).
	extra []string
	// op is the client's operation, whose variable names the hoisted ones avoid; fetch is the fetch's ID.
	op       *ast.OperationDefinition
	fetch    int
	literals []resolvers.ForwardLiteral
	err      error
	// keys, for a fetch from a subgraph of the supergraph, gives the key fields of a type that the objects it
	// forwards must carry for the _entities fetches of other subgraphs' fields below them (issue 17).
	keys func(typ string) []string
}

func (w *forwardWriter) selection(f *Field) string {
	if f.Object == nil && f.ByType == nil {
		return ""
	}
	w.b.Reset()
	w.sub(f, w.extra)
	return strings.TrimSpace(w.b.String())
}

func (w *forwardWriter) sub(f *Field, extra []string) {
	w.b.WriteString("{ ")
	if f.Object != nil {
		if w.fields(f.Object, extra) == 0 {
			w.b.WriteString("__typename ")
		}
	} else {
		w.b.WriteString("__typename ")
		for _, e := range extra {
			w.b.WriteString(e + " ")
		}
		names := make([]string, 0, len(f.ByType))
		for n := range f.ByType {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			w.b.WriteString("... on " + n + " ")
			w.b.WriteString("{ ")
			if w.fields(f.ByType[n], nil) == 0 {
				w.b.WriteString("__typename ") // an empty selection is not valid GraphQL
			}
			w.b.WriteString("} ")
		}
	}
	w.b.WriteString("} ")
}

// fields writes a selection's forwarded fields and returns how many it wrote.
func (w *forwardWriter) fields(sel *Selection, extra []string) int {
	written := map[string]bool{}
	need := append([]string(nil), extra...)
	for _, sf := range sel.Fields {
		switch sf.Kind {
		case FieldTypename:
			if sf.Alias != "__typename" {
				w.b.WriteString(sf.Alias + ": ")
			}
			w.b.WriteString("__typename ")
			written[sf.Alias] = true
		case FieldFetch, FieldValue:
			need = append(need, parentFields(sf.Binding)...)
			if sf.Binding.Federated && w.keys != nil {
				need = append(need, w.keys(sel.Type.Name)...)
			}
		case FieldData:
			if sf.Binding != nil && sf.Binding.From != nil {
				need = append(need, sf.Binding.From[0])
				continue
			}
			if sf.Alias != sf.Name {
				w.b.WriteString(sf.Alias + ": ")
			}
			w.b.WriteString(sf.Name)
			if len(sf.Arguments) > 0 {
				w.b.WriteByte('(')
				for i, a := range sf.Arguments {
					if i > 0 {
						w.b.WriteString(", ")
					}
					w.b.WriteString(a.Name + ": ")
					w.argument(sf, a)
				}
				w.b.WriteByte(')')
			}
			w.b.WriteByte(' ')
			if sf.Object != nil || sf.ByType != nil {
				w.sub(sf, nil)
			}
			written[sf.Alias] = true
		}
	}
	for _, n := range need {
		if !written[n] {
			w.b.WriteString(n + " ")
			written[n] = true
		}
	}
	return len(written)
}

// forwardedKeys lists the key fields of typ, over every subgraph's resolvable keys, that subgraph sub resolves and
// that are leaves (a nested key field cannot be named alone): what a selection forwarded to sub adds so that the
// objects it answers can enter other subgraphs by key.
func forwardedKeys(fed *schema.Federation, sub, typ string) []string {
	t := fed.Types[typ]
	if t == nil {
		return nil
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(t.In)) {
		for _, k := range t.In[name].Keys {
			if !k.Resolvable {
				continue
			}
			for _, s := range k.Selection {
				if kf, ok := s.(*ast.Field); ok && len(kf.SelectionSet) == 0 && fed.CanResolve(sub, typ, kf.Name) && !slices.Contains(out, kf.Name) {
					out = append(out, kf.Name)
				}
			}
		}
	}
	return out
}

// argument writes an argument's value: a client variable as itself, any other value as a new variable.
func (w *forwardWriter) argument(sf *Field, a *ast.Argument) {
	if a.Value.Kind == ast.Variable {
		w.b.WriteString("$" + a.Value.Raw)
		w.collectVars(a.Value)
		return
	}
	name := fmt.Sprintf("_f%d_%d", w.fetch, len(w.literals))
	for w.op != nil && w.op.VariableDefinitions.ForName(name) != nil {
		name = "_" + name
	}
	typ := a.Value.ExpectedType
	if def := sf.Def.Arguments.ForName(a.Name); def != nil {
		typ = def.Type
	}
	if typ == nil {
		// Not for a validated operation; but without a type there is no variable to send the value in.
		if w.err == nil {
			w.err = &PlanError{Message: fmt.Sprintf("the type of argument %s of %s is unknown", a.Name, sf.Name), Location: a.Position}
		}
		return
	}
	l := resolvers.ForwardLiteral{Name: name, Pub: typ}
	if resolvers.HasVariables(a.Value) {
		l.Expr = a.Value
	} else {
		l.Value = resolvers.LiteralValue(a.Value, nil)
		l.Type = resolvers.VarType(typ, l.Value)
	}
	w.literals = append(w.literals, l)
	w.b.WriteString("$" + name)
}

func (w *forwardWriter) collectVars(v *ast.Value) {
	if v == nil {
		return
	}
	if v.Kind == ast.Variable && !w.vars[v.Raw] {
		w.vars[v.Raw] = true
		w.order = append(w.order, v.Raw)
	}
	for _, c := range v.Children {
		w.collectVars(c.Value)
	}
}
