package resolvers

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2/ast"
)

// docBuilder writes one upstream document. Not safe for concurrent use.
//
// Every value a client can influence goes into the variables, never the text (issue 13): client variables and
// the inline arguments of the forwarded selection (Forward), and the binding's argument values, typed by the
// upstream schema when it is known and otherwise by the public schema (argSpec). What is left as text is the
// configuration's own structure and the values no type can be named for, printed by writeLiteral.
type docBuilder struct {
	r      *Resolver
	fw     *Forward
	opType string
	defs   []string
	vars   map[string]any
	body   strings.Builder
}

func (b *docBuilder) start(r *Resolver, fw *Forward, clientVars map[string]any) {
	b.r, b.fw, b.opType, b.vars = r, fw, "query", map[string]any{}
	if r.mutation {
		b.opType = "mutation"
	}
	for _, v := range fw.Variables {
		b.defs = append(b.defs, "$"+v.Name+": "+v.Type)
		if val, ok := clientVars[v.Name]; ok {
			b.vars[v.Name] = val
		}
	}
	for i := range fw.Literals {
		l := &fw.Literals[i]
		val, typ := l.Value, l.Type
		if l.Expr != nil {
			val = LiteralValue(l.Expr, clientVars)
			typ = VarType(l.Pub, val)
		}
		b.defs = append(b.defs, "$"+l.Name+": "+typ)
		b.vars[l.Name] = val
	}
}

// root writes `alias: field(arg: $var, …) selection`; specs are sorted by name, args are the rendered values.
func (b *docBuilder) root(alias, field string, specs []argSpec, args map[string]any, selection string) error {
	if !IsName(field) {
		return fmt.Errorf("binding %s: upstream field %q is not a GraphQL name", b.r.Binding.Name(), field)
	}
	b.body.WriteString(alias)
	b.body.WriteString(": ")
	b.body.WriteString(field)
	open := false
	for i := range specs {
		s := &specs[i]
		v, ok := args[s.name]
		if !ok {
			continue
		}
		if !IsName(s.name) {
			return fmt.Errorf("binding %s: upstream argument %q is not a GraphQL name", b.r.Binding.Name(), s.name)
		}
		if open {
			b.body.WriteString(", ")
		} else {
			b.body.WriteByte('(')
			open = true
		}
		b.body.WriteString(s.name)
		b.body.WriteString(": ")
		name := "_" + alias + "_" + s.name
		if s.typ != "" {
			b.variable(name, s.typ, v)
			continue
		}
		if err := b.value(s.node, name, v); err != nil {
			return err
		}
	}
	if open {
		b.body.WriteByte(')')
	}
	b.body.WriteByte(' ')
	b.body.WriteString(selection)
	b.body.WriteByte(' ')
	return nil
}

// value writes a binding argument's value when the upstream schema is unknown: a variable where n names the
// value's type, n's own structure around its parts for a configured object or list, and a literal otherwise.
func (b *docBuilder) value(n *argNode, name string, v any) error {
	switch {
	case v == nil:
		b.body.WriteString("null")
		return nil
	case n == nil:
	case n.pub != nil:
		b.variable(name, VarType(n.pub, v), v)
		return nil
	case n.object:
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		b.body.WriteByte('{')
		first := true
		for _, f := range n.fields {
			fv, ok := m[f.name]
			if !ok {
				continue
			}
			if !IsName(f.name) {
				return fmt.Errorf("binding %s: the argument key %q is not a GraphQL name", b.r.Binding.Name(), f.name)
			}
			if !first {
				b.body.WriteString(", ")
			}
			first = false
			b.body.WriteString(f.name)
			b.body.WriteString(": ")
			if err := b.value(f.node, name+"_"+f.name, fv); err != nil {
				return err
			}
		}
		b.body.WriteByte('}')
		return nil
	case n.list != nil:
		l, ok := v.([]any)
		if !ok || len(l) != len(n.list) {
			break
		}
		b.body.WriteByte('[')
		for i, e := range l {
			if i > 0 {
				b.body.WriteString(", ")
			}
			if err := b.value(n.list[i], name+"_"+strconv.Itoa(i), e); err != nil {
				return err
			}
		}
		b.body.WriteByte(']')
		return nil
	}
	if hasUpload(v) {
		// A file goes in a variable of the upstream's type, which is not known here (issue 17).
		return &InputError{Binding: b.r.Binding.Name(), Msg: "an Upload argument can be forwarded only where its upstream type is known: give the source an sdl or introspect it"}
	}
	if err := writeLiteral(&b.body, v); err != nil {
		return &InputError{Binding: b.r.Binding.Name(), Msg: err.Error()}
	}
	return nil
}

// variable writes a reference to a new upstream variable holding v. A name that a client variable or an
// earlier variable of the document already has gets underscores in front until it is free.
func (b *docBuilder) variable(name, typ string, v any) {
	name = b.free(name)
	b.defs = append(b.defs, "$"+name+": "+typ)
	b.vars[name] = v
	b.body.WriteByte('$')
	b.body.WriteString(name)
}

func (b *docBuilder) free(name string) string {
	for {
		_, taken := b.vars[name]
		for i := 0; !taken && i < len(b.fw.Variables); i++ {
			taken = b.fw.Variables[i].Name == name
		}
		if !taken {
			return name
		}
		name = "_" + name
	}
}

func (b *docBuilder) entities(typ, field string, reps []any, selection string) error {
	if !IsName(typ) || !IsName(field) {
		return fmt.Errorf("binding %s: upstream entity %q or field %q is not a GraphQL name", b.r.Binding.Name(), typ, field)
	}
	b.body.WriteString("_entities(representations: ")
	b.variable("_representations", "[_Any!]!", reps)
	b.body.WriteString(") { ... on " + typ + " { " + field + " " + selection + " } }")
	return nil
}

func (b *docBuilder) call() upstreamCall {
	var q strings.Builder
	q.WriteString(b.opType)
	if len(b.defs) > 0 {
		q.WriteString("(" + strings.Join(b.defs, ", ") + ")")
	}
	q.WriteString(" { " + strings.TrimSpace(b.body.String()) + " }")
	return upstreamCall{query: q.String(), vars: b.vars}
}

// argSpec says how one argument of an upstream root field is sent: when the upstream schema is known, the
// whole value is one variable of the upstream argument's type (typ); else node says (issue 13).
type argSpec struct {
	name string
	typ  string
	node *argNode
}

// argNode is how a binding's argument value is sent when the upstream schema is unknown. A value whose type
// can be named from the public schema (pub: a client argument {{args.x}} or a field inside it, a parent field
// {{parent.x}} the parent's backend fills, {{keys}} of such a key) is a variable of that type, with non-null
// added wherever the value is non-null (VarType), so that it fits whichever nullability the upstream declares;
// a configured object or list is printed around its parts; anything else (configured scalars, text templates,
// {{env.*}} and {{headers.*}} values, values of a custom scalar's insides) is a literal, printed by
// writeLiteral. The public type is the best guess there is: an upstream that names the type otherwise refuses
// the document (a clear error, and a reason to give the source an sdl), where a literal with unchecked keys
// would have let a client add root fields.
type argNode struct {
	pub    *ast.Type
	object bool
	fields []argField
	list   []*argNode
}

type argField struct {
	name string
	node *argNode
}

// graphqlArgs are a graphql binding's argument specs, made once when the resolver is built.
type graphqlArgs struct {
	args, batch []argSpec
}

// newGraphQLArgs prepares how b's arguments (and its batch's) are sent to upstream (nil when unknown).
func newGraphQLArgs(sg *schema.Supergraph, b *schema.Binding, upstream *ast.Schema, mutation bool) *graphqlArgs {
	op := ast.Query
	if mutation {
		op = ast.Mutation
	}
	g := &graphqlArgs{args: argSpecsFor(sg, b, upstream, op, b.UpstreamField, b.Args, nil)}
	if bt := b.Batch; bt != nil {
		args, field := b.Args, b.UpstreamField
		if bt.Args != nil {
			args = bt.Args
		}
		if bt.UpstreamField != "" {
			field = bt.UpstreamField
		}
		g.batch = argSpecsFor(sg, b, upstream, op, field, args, bt.Key)
	}
	return g
}

// argSpecs returns the specs of the binding's args, or of its batch's when batch is true.
func (r *Resolver) argSpecs(batch bool) []argSpec {
	g := r.gql
	if g == nil {
		// A resolver not built by New: no public types to go by, so values the upstream types do not cover are
		// literals.
		g = newGraphQLArgs(nil, r.Binding, r.upstream, r.mutation)
	}
	if batch {
		return g.batch
	}
	return g.args
}

func argSpecsFor(sg *schema.Supergraph, b *schema.Binding, upstream *ast.Schema, op ast.Operation, field string, args []schema.ValueField, keys []*schema.Template) []argSpec {
	out := make([]argSpec, 0, len(args))
	for _, a := range args {
		s := argSpec{name: a.Name, typ: upstreamArgType(upstream, op, field, a.Name)}
		if s.typ == "" {
			s.node = argNodeFor(sg, b, a.Value, keys)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// upstreamArgType is the type of argument arg of field of the upstream root type of op ("" when unknown).
func upstreamArgType(up *ast.Schema, op ast.Operation, field, arg string) string {
	if up == nil {
		return ""
	}
	root := up.Query
	switch op {
	case ast.Mutation:
		root = up.Mutation
	case ast.Subscription:
		root = up.Subscription
	}
	if root == nil {
		return ""
	}
	f := root.Fields.ForName(field)
	if f == nil {
		return ""
	}
	if a := f.Arguments.ForName(arg); a != nil {
		return a.Type.String()
	}
	return ""
}

func argNodeFor(sg *schema.Supergraph, b *schema.Binding, v *schema.Value, keys []*schema.Template) *argNode {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case schema.ValueTemplate:
		if one := v.Template.Single(); one != nil {
			if t := publicType(sg, b, one, keys); t != nil {
				return &argNode{pub: t}
			}
		}
	case schema.ValueObject:
		n := &argNode{object: true}
		for _, f := range v.Fields {
			n.fields = append(n.fields, argField{name: f.Name, node: argNodeFor(sg, b, f.Value, keys)})
		}
		return n
	case schema.ValueList:
		n := &argNode{list: make([]*argNode, len(v.List))}
		for i, e := range v.List {
			n.list[i] = argNodeFor(sg, b, e, keys)
		}
		return n
	}
	return nil
}

// publicType is the public schema's type of a template variable's value, or nil when it cannot be named.
func publicType(sg *schema.Supergraph, b *schema.Binding, v *schema.Var, keys []*schema.Template) *ast.Type {
	if sg == nil || sg.Schema == nil {
		return nil
	}
	parent := sg.Schema.Types[b.Type]
	switch v.Scope {
	case schema.ScopeArgs:
		if parent == nil {
			return nil
		}
		f := parent.Fields.ForName(b.Field)
		if f == nil {
			return nil
		}
		a := f.Arguments.ForName(v.Path[0])
		if a == nil {
			return nil
		}
		return inputPath(sg.Schema, a.Type, v.Path[1:])
	case schema.ScopeParent:
		// The parent object is its backend's answer: a field's key holds that field's value only when no binding
		// fills the field some other way.
		return typeAt(sg.Schema, &ast.Type{NamedType: b.Type}, v.Path, ast.Object, func(def *ast.Definition, field string) bool {
			return sg.Binding(def.Name, field) == nil
		})
	case schema.ScopeKeys:
		if len(keys) != 1 || keys[0].Single() == nil {
			return nil
		}
		k := publicType(sg, b, keys[0].Single(), nil)
		if k == nil {
			return nil
		}
		return ast.ListType(k, nil)
	}
	return nil
}

// inputPath follows path (input fields, list indexes) from type t; nil where it leaves what the schema types.
func inputPath(s *ast.Schema, t *ast.Type, path []string) *ast.Type {
	return typeAt(s, t, path, ast.InputObject, nil)
}

// typeAt follows path (fields of kind definitions, list indexes) from type t; nil where it leaves what the schema
// types, or where follow (when given) refuses a field.
func typeAt(s *ast.Schema, t *ast.Type, path []string, kind ast.DefinitionKind, follow func(def *ast.Definition, field string) bool) *ast.Type {
	for _, p := range path {
		if t.Elem != nil {
			if _, err := strconv.Atoi(p); err != nil {
				return nil
			}
			t = t.Elem
			continue
		}
		def := s.Types[t.NamedType]
		if def == nil || def.Kind != kind || (follow != nil && !follow(def, p)) {
			return nil
		}
		f := def.Fields.ForName(p)
		if f == nil {
			return nil
		}
		t = f.Type
	}
	return t
}
