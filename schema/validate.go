package schema

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// validator checks decoded bindings against the SDL and the sources. Not safe for concurrent use.
type validator struct {
	*decoder
	sg *Supergraph
	// declared holds every binding key in the file, valid or not, so lint does not repeat a reported problem.
	declared map[string]bool
}

// binding reports every problem of b and returns whether b may be used.
func (v *validator) binding(b *Binding) bool {
	path := "bindings." + b.Name()
	before := len(v.list)
	def := v.sg.Schema.Types[b.Type]
	switch {
	case def == nil:
		v.errorf(b.Pos, path, "unknown type %q%s", b.Type, suggestAs(b.Type, v.typeNames(), "object types"))
		return false
	case def.Kind == ast.Interface:
		v.errorf(b.Pos, path, "%s is an interface: bind the field on each implementation (%s)", b.Type, strings.Join(v.implementations(b.Type), ", "))
		return false
	case def.Kind != ast.Object:
		v.errorf(b.Pos, path, "%s is %s, not an object type: only object fields can be bound", b.Type, strings.ToLower(string(def.Kind)))
		return false
	}
	field := def.Fields.ForName(b.Field)
	if field == nil || strings.HasPrefix(b.Field, "__") {
		v.errorf(b.Pos, path, "type %s has no field %q%s", b.Type, b.Field, suggestAs(b.Field, fieldNames(def), "fields"))
		return false
	}
	root := v.isRoot(b.Type)
	if ls := b.ListSize; ls != nil {
		if field.Type.Elem == nil {
			v.errorf(ls.Pos, path+".listSize", "%s is not a list field: listSize sizes lists", b.Name())
		}
		for _, a := range ls.SlicingArguments {
			switch arg := field.Arguments.ForName(a); {
			case arg == nil:
				v.errorf(ls.Pos, path+".listSize.slicingArguments", "%q is not an argument of %s%s", a, b.Name(), suggestAs(a, argNames(field), "arguments"))
			case arg.Type.Elem != nil || arg.Type.NamedType != "Int":
				v.errorf(ls.Pos, path+".listSize.slicingArguments", "argument %q of %s is %s: a slicing argument is an Int", a, b.Name(), arg.Type)
			}
		}
	}

	var src *Source
	if b.Source != "" {
		src = v.sg.Sources[b.Source]
		if src == nil {
			v.errorf(b.Pos, path+".source", "unknown source %q (have: %s)", b.Source, strings.Join(v.sg.SourceNames(), ", "))
		}
	}
	if b.Cache != nil && src != nil && src.Kind == KindGraphQL {
		v.warnf(b.Pos, path+".cache", "answers of graphql sources are not cached: cache is ignored here")
	}
	hasRequest := b.Method != "" || b.Path != nil || b.Query != nil || b.Headers != nil || b.Body != nil
	switch {
	case b.Source == "":
		if hasRequest || b.Batch != nil || b.UpstreamField != "" || b.Args != nil || b.Timeout > 0 || b.RetrySafe || b.Fallback != nil || b.Required || b.Cache != nil {
			v.errorf(b.Pos, path, "method, path, query, headers, body, batch, field, args, timeout, retrySafe, fallback, required and cache need a `source:` to call")
		}
		if b.Select != nil {
			v.errorf(b.Pos, path, "select reads a source's response: use from: to read the parent object")
		}
	case b.From != nil:
		v.errorf(b.Pos, path, "from reads the parent object and source calls a backend: keep one")
	case b.Value != nil:
		v.errorf(b.Pos, path, "value is a constant answer and source calls a backend: keep one")
	}
	if b.From != nil && b.Value != nil {
		v.errorf(b.Pos, path, "from and value both answer the field: keep one")
	}
	if src != nil {
		switch src.Kind {
		case KindHTTP:
			if b.Path == nil && !b.given["path"] {
				v.errorf(b.Pos, path, "an http binding needs `path:`, e.g. path: /customers/{{args.id}}")
			}
			if b.UpstreamField != "" || b.Args != nil {
				v.errorf(b.Pos, path, "field and args are for graphql sources; %s is an http source (use path and query)", b.Source)
			}
		case KindGraphQL:
			v.graphqlBinding(b, field, src, path, root)
		case KindStatic:
			if hasRequest || b.Batch != nil || b.UpstreamField != "" || b.Args != nil {
				v.errorf(b.Pos, path, "%s is a static source: only select applies", b.Source)
			}
		}
	}

	v.subscription(b, src, path)
	// Templates: each variable must name something that exists where the binding runs.
	for _, t := range b.Request.Templates() {
		v.templateVars(t, path, field, root, false)
	}
	for _, a := range b.Args {
		for _, t := range a.Value.Templates() {
			v.templateVars(t, path+".args", field, root, false)
		}
	}
	for _, t := range b.Value.Templates() {
		v.templateVars(t, path+".value", field, root, false)
	}
	for _, t := range b.Fallback.Templates() {
		v.templateVars(t, path+".fallback", field, root, false)
	}
	if b.Fallback != nil && b.Required {
		v.errorf(b.Pos, path, "fallback answers a failed fetch and required fails the parent: keep one")
	}
	if bt := b.Batch; bt != nil {
		bp := path + ".batch"
		if root {
			v.warnf(bt.Pos, bp, "%s is a root field with a single parent: batch never groups anything here", b.Name())
		}
		for _, t := range bt.Key {
			v.templateVars(t, bp+".key", field, root, false)
			if !usesScope(t, ScopeParent) {
				v.errorf(t.Pos, bp+".key", "the key %q reads nothing from the parent: use {{parent.<field>}}", t.Raw)
			}
		}
		// A graphql batch may alias one root field per key instead of sending {{keys}}.
		sawKeys := src != nil && src.Kind == KindGraphQL
		for _, a := range bt.Args {
			for _, t := range a.Value.Templates() {
				v.templateVars(t, bp+".args", field, root, true)
			}
		}
		own := map[*Template]bool{}
		for _, t := range b.Request.Templates() {
			own[t] = true
		}
		for _, t := range bt.Request.Templates() {
			if own[t] && usesScope(t, ScopeParent) {
				v.errorf(t.Pos, bp, "the batch inherits %q from the binding, and a batched request serves many parents: override it under batch (e.g. query: {} to send no query)", t.Raw)
				continue
			}
			v.templateVars(t, bp, field, root, true)
			if usesScope(t, ScopeKeys) {
				sawKeys = true
			}
		}
		if !sawKeys {
			v.errorf(bt.Pos, bp, "the batched request never sends the keys: put {{keys}} in batch.path, batch.query or batch.body")
		}
	}
	if disc := b.Discriminator; disc != nil {
		named := v.sg.Schema.Types[field.Type.Name()]
		if named == nil || !named.IsAbstractType() {
			v.errorf(disc.Pos, path+".discriminator", "%s returns %s, not an interface or union: a discriminator picks between possible types", b.Name(), field.Type.String())
		} else {
			possible := v.possibleTypes(named)
			for _, value := range sortedKeys(disc.Types) {
				t := disc.Types[value]
				if !contains(possible, t) {
					v.errorf(disc.Pos, path+".discriminator.types."+value, "%s is not a possible type of %s (have: %s)", t, named.Name, strings.Join(possible, ", "))
				}
			}
		}
	}
	return !v.hasErrorsSince(before)
}

func usesScope(t *Template, s Scope) bool {
	for _, v := range t.Vars() {
		if v.Scope == s {
			return true
		}
	}
	return false
}

// templateVars checks the variables of one template. batched is true inside a batch request, where {{keys}}
// stands for the parents and {{parent.*}} is not available.
func (v *validator) templateVars(t *Template, path string, field *ast.FieldDefinition, root, batched bool) {
	for _, tv := range t.Vars() {
		switch tv.Scope {
		case ScopeArgs:
			if field.Arguments.ForName(tv.Path[0]) == nil {
				v.errorf(t.Pos, path, "{{%s}}: field %s has no argument %q%s", tv, field.Name, tv.Path[0], suggestAs(tv.Path[0], argNames(field), "arguments"))
			}
		case ScopeParent:
			if root {
				v.errorf(t.Pos, path, "{{%s}}: a root field has no parent object; use {{args.*}}", tv)
			} else if batched {
				v.errorf(t.Pos, path, "{{%s}}: the batched request serves many parents; read the parent in batch.key and send {{keys}}", tv)
			}
		case ScopeKeys:
			if !batched {
				v.errorf(t.Pos, path, "{{keys}} exists only in a batch request (batch.path, batch.query, batch.body)")
			}
		case ScopeEnv:
			name := strings.Join(tv.Path, ".")
			if _, ok := v.sg.envLookup(name); !ok {
				v.warnf(t.Pos, path, "environment variable %s is not set; it renders as an empty string", name)
			}
		case ScopeJWT:
			switch {
			case !v.sg.Settings.Auth.JWT.Enabled():
				v.errorf(t.Pos, path, "{{%s}} reads the request's token: configure server.auth.jwt", tv)
			case tv.Path[0] == "claims" && len(tv.Path) > 1:
			case len(tv.Path) != 1 || !contains(JWTClaims, tv.Path[0]):
				v.errorf(t.Pos, path, "{{%s}}: use {{jwt.<%s>}} or {{jwt.claims.<name>}} (e.g. {{jwt.claims.tenant}})", tv, strings.Join(JWTClaims, "|"))
			}
		case ScopeHeaders:
			if len(tv.Path) != 1 || strings.ToLower(tv.Path[0]) != tv.Path[0] {
				v.errorf(t.Pos, path, "{{%s}}: name one incoming header in lower case, e.g. {{headers.authorization}}", tv)
			}
		}
	}
}

// graphqlBinding checks a binding to an upstream GraphQL field against the upstream schema, when known.
func (v *validator) graphqlBinding(b *Binding, field *ast.FieldDefinition, src *Source, path string, root bool) {
	if b.Method != "" || b.Path != nil || b.Query != nil || b.Body != nil || b.Select != nil {
		v.errorf(b.Pos, path, "%s is a graphql source: use field and args (method, path, query, body and select are for http sources)", b.Source)
	}
	if b.UpstreamField == "" {
		v.errorf(b.Pos, path, "a graphql binding needs `field:`, the upstream root field to call")
		return
	}
	if b.Federated {
		// Derived from the supergraph: the planner sends the client's arguments and selection as the supergraph
		// describes them, so there are no binding args to check against the upstream schema.
		return
	}
	if bt := b.Batch; bt != nil && bt.Entities != "" && len(bt.Match) == 0 {
		v.errorf(bt.Pos, path+".batch", "entities batching builds each representation from match: name the entity's key field, e.g. match: id")
	}
	up := src.Upstream
	if up == nil {
		return
	}
	if bt := b.Batch; bt != nil && bt.Entities != "" {
		switch et := up.Types[bt.Entities]; {
		case et == nil:
			v.errorf(bt.Pos, path+".batch.entities", "the upstream schema of %s has no type %q", b.Source, bt.Entities)
		case et.Fields.ForName(b.UpstreamField) == nil:
			v.errorf(b.Pos, path+".field", "upstream type %s has no field %q%s", bt.Entities, b.UpstreamField, suggestAs(b.UpstreamField, fieldNames(et), "fields"))
		}
		return
	}
	rootType := v.upstreamRoot(up, b.Type)
	if rootType == nil {
		v.errorf(b.Pos, path+".field", "the upstream schema of %s has no root type for %s", b.Source, b.Type)
		return
	}
	v.upstreamCall(up, rootType, field, b.UpstreamField, b.Args, b.Pos, path)
	if bt := b.Batch; bt != nil && (bt.UpstreamField != "" || bt.Args != nil) {
		name, args := b.UpstreamField, b.Args
		if bt.UpstreamField != "" {
			name = bt.UpstreamField
		}
		if bt.Args != nil {
			args = bt.Args
		}
		v.upstreamCall(up, rootType, field, name, args, bt.Pos, path+".batch")
	}
}

// upstreamCall checks that an upstream root field exists and gets valid arguments: each named argument exists,
// every required one is given, and one passed straight from a client argument ({{args.x}}, or a field inside
// it) has a type the upstream argument accepts. pub is the public field the binding serves.
func (v *validator) upstreamCall(up *ast.Schema, rootType *ast.Definition, pub *ast.FieldDefinition, field string, args []ValueField, pos Position, path string) {
	uf := rootType.Fields.ForName(field)
	if uf == nil {
		v.errorf(pos, path+".field", "upstream %s has no field %q%s", rootType.Name, field, suggestAs(field, fieldNames(rootType), "fields"))
		return
	}
	given := map[string]bool{}
	for _, a := range args {
		given[a.Name] = true
		ua := uf.Arguments.ForName(a.Name)
		if ua == nil {
			v.errorf(a.Value.Pos, path+".args."+a.Name, "upstream field %s has no argument %q%s", uf.Name, a.Name, suggestAs(a.Name, argNames(uf), "arguments"))
			continue
		}
		if pt := v.clientArgType(pub, a.Value); pt != nil {
			fit := typeFit{pub: v.sg.Schema, up: up, seen: map[string]bool{}}
			if why := fit.check(pt, ua.Type, ua.DefaultValue != nil); why != "" {
				v.errorf(a.Value.Pos, path+".args."+a.Name, "%s is %s, but upstream argument %s.%s is %s: %s", a.Value.Template.Raw, pt, uf.Name, ua.Name, ua.Type, why)
			}
		}
	}
	for _, a := range uf.Arguments {
		if a.Type.NonNull && a.DefaultValue == nil && !given[a.Name] {
			v.errorf(pos, path+".args", "upstream field %s requires argument %s: %s", uf.Name, a.Name, a.Type.String())
		}
	}
}

// lint reports what can never work at runtime, or works slowly, but does not stop the load.
func (v *validator) lint() {
	lists := v.listParents()
	for _, b := range v.sg.ordered {
		if !b.Fetches() || b.Batch != nil || v.isRoot(b.Type) || len(lists[b.Type]) == 0 {
			continue
		}
		v.warnf(b.Pos, "bindings."+b.Name(), "N+1: %s appears in lists (%s), and this binding calls %s once per parent; add batch: {key: ..., ...} to fetch every parent in one call",
			b.Type, strings.Join(lists[b.Type], ", "), b.Source)
	}
	for _, op := range []*ast.Definition{v.sg.Schema.Query, v.sg.Schema.Mutation} {
		if op == nil {
			continue
		}
		for _, f := range op.Fields {
			if strings.HasPrefix(f.Name, "__") || v.declared[op.Name+"."+f.Name] {
				continue
			}
			pos := Position{File: v.file}
			if f.Position != nil && f.Position.Src != nil {
				pos = Position{File: f.Position.Src.Name, Line: f.Position.Line, Column: f.Position.Column}
			}
			v.warnf(pos, op.Name+"."+f.Name, "no binding: a root field has no parent object to read, so it is always null; add bindings.%s.%s", op.Name, f.Name)
			v.list[len(v.list)-1].Unfillable = f.Type.NonNull
		}
	}
}

// listParents maps each object type to the fields that return it in a list (directly or through an interface
// or union).
func (v *validator) listParents() map[string][]string {
	out := map[string][]string{}
	for _, name := range sortedKeys(v.sg.Schema.Types) {
		def := v.sg.Schema.Types[name]
		if def.BuiltIn || def.Kind != ast.Object && def.Kind != ast.Interface {
			continue
		}
		for _, f := range def.Fields {
			if f.Type.Elem == nil {
				continue
			}
			target := v.sg.Schema.Types[f.Type.Name()]
			if target == nil {
				continue
			}
			for _, t := range v.sg.Schema.GetPossibleTypes(target) {
				out[t.Name] = append(out[t.Name], name+"."+f.Name)
			}
		}
	}
	return out
}

func (v *validator) isRoot(name string) bool {
	s := v.sg.Schema
	return s.Query != nil && s.Query.Name == name || s.Mutation != nil && s.Mutation.Name == name ||
		s.Subscription != nil && s.Subscription.Name == name
}

func (v *validator) typeNames() []string {
	var names []string
	for n, t := range v.sg.Schema.Types {
		if !t.BuiltIn && t.Kind == ast.Object {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

func (v *validator) implementations(iface string) []string {
	var names []string
	for _, t := range v.sg.Schema.PossibleTypes[iface] {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	return names
}

func (v *validator) possibleTypes(def *ast.Definition) []string {
	return v.implementations(def.Name)
}

func fieldNames(def *ast.Definition) []string {
	names := make([]string, 0, len(def.Fields))
	for _, f := range def.Fields {
		if !strings.HasPrefix(f.Name, "__") {
			names = append(names, f.Name)
		}
	}
	return names
}

func argNames(f *ast.FieldDefinition) []string {
	names := make([]string, 0, len(f.Arguments))
	for _, a := range f.Arguments {
		names = append(names, a.Name)
	}
	return names
}

// clientArgType is the public type of a value that is exactly one client argument, {{args.x}} or a field inside
// it ({{args.input.id}}); nil for anything else (literals, parent fields, keys, mixed text), whose type the
// configuration does not declare.
func (v *validator) clientArgType(pub *ast.FieldDefinition, val *Value) *ast.Type {
	if val == nil || val.Kind != ValueTemplate {
		return nil
	}
	tv := val.Template.Single()
	if tv == nil || tv.Scope != ScopeArgs || len(tv.Path) == 0 {
		return nil
	}
	arg := pub.Arguments.ForName(tv.Path[0])
	if arg == nil {
		return nil
	}
	// The value is non-null only when the argument and every field on the way are (or have a default, which
	// input coercion fills in).
	t, nonNull := arg.Type, arg.Type.NonNull || arg.DefaultValue != nil
	for _, name := range tv.Path[1:] {
		def := v.sg.Schema.Types[t.Name()]
		if t.Elem != nil || def == nil || def.Kind != ast.InputObject || def.Fields.ForName(name) == nil {
			return nil
		}
		f := def.Fields.ForName(name)
		t, nonNull = f.Type, nonNull && (f.Type.NonNull || f.DefaultValue != nil)
	}
	c := *t
	c.NonNull = nonNull
	return &c
}

// typeFit compares a public input type with the upstream type its value is sent as, by GraphQL's input
// coercion: the upstream must accept every value the public type allows.
type typeFit struct {
	pub, up *ast.Schema
	// seen breaks the recursion of input objects that contain themselves.
	seen map[string]bool
}

// scalarInto says which public scalars an upstream scalar accepts besides itself (ID takes strings and ints,
// Float takes ints, String takes IDs, which travel as strings).
var scalarInto = map[string]map[string]bool{
	"ID":     {"String": true, "Int": true},
	"Float":  {"Int": true},
	"String": {"ID": true},
}

// check returns why a value of public type p does not fit upstream type u, or "".
func (f typeFit) check(p, u *ast.Type, upDefault bool) string {
	var why []string
	if u.NonNull && !p.NonNull && !upDefault {
		why = append(why, "the client may send null, which the upstream refuses (make the public argument non-null or give it a default)")
	}
	if w := f.shape(p, u, upDefault); w != "" {
		why = append(why, w)
	}
	return strings.Join(why, "; and ")
}

// shape returns why the non-null parts of p and u do not fit: list against single value, scalar, enum and input
// object types.
func (f typeFit) shape(p, u *ast.Type, upDefault bool) string {
	pe, ue := *p, *u
	pe.NonNull, ue.NonNull = false, false
	switch {
	case ue.Elem != nil && pe.Elem != nil:
		return f.check(pe.Elem, ue.Elem, false)
	case ue.Elem != nil:
		// A single value is coerced into a list of one.
		return f.check(p, ue.Elem, upDefault)
	case pe.Elem != nil:
		return "the client sends a list where the upstream takes one value"
	}
	pn, un := pe.NamedType, ue.NamedType
	pd, ud := f.pub.Types[pn], f.up.Types[un]
	if pd == nil || ud == nil {
		return ""
	}
	switch {
	case pd.Kind == ast.Scalar && ud.Kind == ast.Scalar:
		if pn != un && !scalarInto[un][pn] {
			return fmt.Sprintf("%s values are not %s values", pn, un)
		}
	case pd.Kind == ast.Enum && ud.Kind == ast.Enum:
		for _, ev := range pd.EnumValues {
			if ud.EnumValues.ForName(ev.Name) == nil {
				return fmt.Sprintf("upstream enum %s has no value %s", un, ev.Name)
			}
		}
	case pd.Kind == ast.Enum && ud.Kind == ast.Scalar && un == "String":
		// Enum values travel as their names.
	case pd.Kind == ast.InputObject && ud.Kind == ast.InputObject:
		key := pn + ">" + un
		if f.seen[key] {
			return ""
		}
		f.seen[key] = true
		for _, pf := range pd.Fields {
			uf := ud.Fields.ForName(pf.Name)
			if uf == nil {
				return fmt.Sprintf("upstream input %s has no field %s", un, pf.Name)
			}
			pt := pf.Type
			if pf.DefaultValue != nil {
				c := *pt
				c.NonNull = true
				pt = &c
			}
			if why := f.check(pt, uf.Type, uf.DefaultValue != nil); why != "" {
				return fmt.Sprintf("field %s: %s", pf.Name, why)
			}
		}
		for _, uf := range ud.Fields {
			if uf.Type.NonNull && uf.DefaultValue == nil && pd.Fields.ForName(uf.Name) == nil {
				return fmt.Sprintf("upstream input %s requires field %s, which public %s does not have", un, uf.Name, pn)
			}
		}
	default:
		return fmt.Sprintf("a %s cannot be sent as a %s", strings.ToLower(string(pd.Kind)), strings.ToLower(string(ud.Kind)))
	}
	return ""
}
