package graph

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2/ast"
)

// Plan is a compiled operation: the selection tree the writer walks and the DAG of fetches the executor runs.
// A Plan is immutable once built and shared by every request with the same cache key.
type Plan struct {
	Operation ast.Operation
	Root      *Selection
	// Fetches lists every fetch node in planning order (parents before children).
	Fetches []*Fetch
	// Roots are the fetches with no parent fetch, in selection order.
	Roots []*Fetch
	// Introspective reports whether the operation reads __schema or __type.
	Introspective bool
	// Static reports that the response depends on nothing but the schema (no fetch, no variable), so it can be
	// cached as bytes.
	Static bool
	// Deferred lists the operation's active @defer fragments and Streamed its active @stream fields (issue 17);
	// a client that accepts incremental delivery gets them after the initial payload.
	Deferred []*Defer
	Streamed []*Field
	// Fields is the number of fields planned: each merged response key of each selection once, so an abstract
	// field's sub-selection counts once per possible type, and __typename counts.
	Fields int

	// cost is the static cost estimate (cost.go) when it does not depend on variables; costByVars says a list
	// length comes from a variable, so Cost computes it per request.
	cost       int64
	costByVars bool
}

// Selection is the collected, merged selection set of one concrete object type.
type Selection struct {
	Type   *ast.Definition
	Fields []*Field
}

// FieldKind says how a field's value is produced.
type FieldKind int

// The kinds of Field.
const (
	// FieldData reads the parent object (its own key, or a `from` path).
	FieldData FieldKind = iota
	// FieldFetch is filled by a Fetch node.
	FieldFetch
	// FieldValue is a static `value` binding.
	FieldValue
	// FieldTypename is __typename.
	FieldTypename
	// FieldSchema is __schema and FieldType is __type (introspection).
	FieldSchema
	FieldType
)

// Field is one response key of a Selection, after merging every occurrence of that key.
type Field struct {
	// Alias is the response key.
	Alias string
	Name  string
	// Parent is the name of the object type the field belongs to.
	Parent    string
	Kind      FieldKind
	Def       *ast.FieldDefinition
	Arguments ast.ArgumentList
	Binding   *schema.Binding
	// Location is where the field is written in the operation (its first occurrence).
	Location *ast.Position
	// Object is the sub-selection when the field's named type is an object type.
	Object *Selection
	// ByType holds a sub-selection per possible type when the field's named type is abstract.
	ByType map[string]*Selection
	// Fetch is the node that fills the field when Kind is FieldFetch.
	Fetch *Fetch
	// Forwarded says the field's parent object came from an upstream GraphQL answer, whose keys are the
	// response keys (aliases) the planner sent, not field names.
	Forwarded bool
	// AnyType says every possible type of the abstract field has the same selection, so an object whose
	// __typename is the abstract type's own name (what an @interfaceObject subgraph answers) is written with
	// any of them (issue 14).
	AnyType bool
	// Defer is the deferred fragment the field is selected in, relative to its parent object (nil: the field
	// belongs with its parent). A field selected both in and out of deferred fragments is not deferred.
	Defer *Defer
	// Stream is the field's active @stream, nil when none.
	Stream *Stream
	// in is the deferred fragment the field is written in: its own Defer, or its parent object's (nil: the
	// initial payload's).
	in *Defer
	// Index is the field's position in its Selection.
	Index int
	// pathName is Alias as a path element, made once here so that writing a response does not box the alias
	// anew for every field of every item.
	pathName ast.PathElement
}

// Fetch is one node of the plan's DAG: it fills Field for every parent object the Parent fetch (or the root)
// produces at Path.
type Fetch struct {
	ID      int
	Field   *Field
	Binding *schema.Binding
	// Parent is the nearest ancestor fetch whose results hold this fetch's parents; nil for root fields.
	Parent   *Fetch
	Children []*Fetch
	// Path is the response path of the field, with "@" for each list level, e.g. customers.@.orders.
	Path string
	// Batched reports whether the fetch goes through a batch loader (its binding has batch and it is not a
	// root field).
	Batched bool
	// Forward is what a fetch from a graphql source sends upstream (made by the GraphQL kind's prepare,
	// fetch_graphql.go); nil for other sources.
	Forward *resolvers.Forward
	// Fed is the federated group a root field of the supergraph belongs to (issue 14): its fetches run
	// together, as the group's subgraph calls.
	Fed *fedGroup
	// Defer is the deferred fragment the fetch's field is in, or below (nil: the initial payload needs it).
	Defer *Defer
	// fetcher runs the fetch (fetch.go): chosen by the binding's source when the fetch is planned, or the
	// federated group.
	fetcher fetcher
}

// Defer is one active @defer fragment (issue 17). Its fields are marked with it (Field.Defer) in every
// selection the fragment applies to; the fetches below them with it or a Defer nested in it (Fetch.Defer).
type Defer struct {
	// ID numbers the operation's deferred fragments from 1 in planning order.
	ID    int
	Label string
	// Parent is the deferred fragment this one is nested in; nil for one of the initial payload.
	Parent *Defer
	// Path is the response path of the objects the fragment applies to, with "@" per list level.
	Path     string
	Location *ast.Position
}

// Stream is a list field's active @stream (issue 17).
type Stream struct {
	Label string
	// group stands for the items past initialCount: the fetches below them run apart, counted for it, so that
	// the initial payload does not wait for them (execute.go, buildIn).
	group *Defer
	// InitialCount is the @stream(initialCount:) argument: a literal or a variable, read per request.
	InitialCount *ast.Value
}

// initial returns the number of items of the initial payload for the request's variables.
func (s *Stream) initial(vars map[string]any) int {
	if s.InitialCount == nil {
		return 0
	}
	v, err := s.InitialCount.Value(vars)
	if err != nil {
		return 0
	}
	switch n := v.(type) {
	case int64:
		return int(max(n, 0))
	case int:
		return max(n, 0)
	case json.Number:
		i, _ := n.Int64()
		return int(max(i, 0))
	case float64:
		return int(max(n, 0))
	}
	return 0
}

// PlanError is an operation the planner refuses (for example over a configured limit). Code is its
// extensions.code (GRAPHQL_VALIDATION_FAILED when empty) and Extensions any further extensions.
type PlanError struct {
	Message    string
	Location   *ast.Position
	Code       string
	Extensions map[string]any
}

func (e *PlanError) Error() string { return e.Message }

// planner compiles one operation. Not safe for concurrent use; one per Plan.
type planner struct {
	sg       *schema.Supergraph
	doc      *ast.QueryDocument
	op       *ast.OperationDefinition
	vars     map[string]any
	plan     *Plan
	maxDepth int
	aliases  int
	// maxFields bounds Plan.Fields, the plan's size, by server.maxCost: a field other than __typename costs at
	// least 1 per instance, so an operation with more fields than that is mostly over the cost limit anyway
	// (not always: the cost counts only the dearest possible type of an abstract field, and __typename is
	// free). Checking while planning keeps fragment-spread explosions from building a huge plan first.
	maxFields int
	// entityGroups holds the groups of supergraph fields on objects other sources made, by parent fetch, path
	// and type.
	entityGroups map[string]*fedGroup
	// labels holds the @defer and @stream directives by label (each label names one directive), and err the
	// first refusal that collect met (a label, or more deferred fragments than maxFields).
	labels map[string]*ast.Directive
	err    error
}

// maxPlanFields bounds the fields of one plan when server.maxCost is off.
const maxPlanFields = 1 << 20

// NewPlan compiles op of doc against sg. vars supplies the values of @skip/@include conditions; nothing else
// about the variables shapes the plan.
func NewPlan(sg *schema.Supergraph, doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any) (*Plan, error) {
	p := &planner{sg: sg, doc: doc, op: op, vars: vars, plan: &Plan{Operation: op.Operation}, maxDepth: sg.Settings.MaxDepth,
		maxFields: maxPlanFields}
	if m := sg.Settings.MaxCost; m > 0 {
		p.maxFields = m
	}
	var root *ast.Definition
	switch op.Operation {
	case ast.Mutation:
		root = sg.Schema.Mutation
	case ast.Subscription:
		root = sg.Schema.Subscription // each event runs like a query (subscribe.go)
	default:
		root = sg.Schema.Query
	}
	if root == nil {
		return nil, &PlanError{Message: fmt.Sprintf("the schema has no %s type", op.Operation), Location: op.Position}
	}
	sel, err := p.selection(root, []ast.SelectionSet{op.SelectionSet}, nil, "", 1, false, nil)
	if err != nil {
		return nil, err
	}
	if max := sg.Settings.MaxAliases; max > 0 && p.aliases > max {
		return nil, &PlanError{Message: fmt.Sprintf("the operation uses %d aliases; the limit is %d", p.aliases, max), Location: op.Position,
			Code: CodeAliasLimit, Extensions: map[string]any{"aliases": p.aliases, "maxAliases": max}}
	}
	p.plan.Root = sel
	if err := p.federate(root); err != nil {
		return nil, err
	}
	p.plan.cost = selectionCost(sel, 1, vars, sg.Settings.DefaultListSize, &p.plan.costByVars)
	if !p.plan.costByVars {
		if err := checkCost(p.plan.cost, sg.Settings.MaxCost, op.Position); err != nil {
			return nil, err
		}
	}
	p.plan.Static = len(p.plan.Fetches) == 0 && len(op.VariableDefinitions) == 0 && !hasValueFields(sel)
	return p.plan, nil
}

// federate plans the subgraph calls of the federated root fields: one group for a query's; for a mutation's,
// one per run of consecutive fields of one subgraph (groups run one after the other).
func (p *planner) federate(root *ast.Definition) error {
	mutation := p.op.Operation == ast.Mutation
	var g *fedGroup
	var last *Field
	for _, f := range p.plan.Root.Fields {
		prev := last
		last = f
		if f.Fetch == nil || !f.Binding.Federated {
			continue
		}
		// A mutation's consecutive fields of one subgraph go in one request, which the subgraph runs in order
		// (as a gateway does); any other field starts a new group.
		if g == nil || mutation && (prev == nil || prev.Fetch == nil || prev.Fetch.Fed != g || prev.Binding.Source != f.Binding.Source) {
			if g != nil {
				if err := planFederation(p.sg, g, root, mutation); err != nil {
					return err
				}
			}
			g = &fedGroup{}
		}
		g.fields = append(g.fields, f)
		f.Fetch.Fed, f.Fetch.fetcher = g, g
	}
	if g != nil {
		if err := planFederation(p.sg, g, root, p.op.Operation == ast.Mutation); err != nil {
			return err
		}
	}
	for _, g := range p.entityGroups {
		if err := planEntities(p.sg, g); err != nil {
			return err
		}
	}
	return nil
}

// forwardedFrom reports whether typ.field, on an object that parent made, comes in parent's answer: parent is a
// graphql fetch from a subgraph (a supergraph's Subscription field, issue 17, or a configured binding to one) that
// resolves the field without @requires, so the field is forwarded with the selection rather than fetched by key.
func (p *planner) forwardedFrom(parent *Fetch, typ, field string) bool {
	fed := p.sg.Federation
	if fed == nil || parent.Binding.UpstreamField == "" || !fed.CanResolve(parent.Binding.Source, typ, field) {
		return false
	}
	in := fed.Types[typ].Fields[field].In[parent.Binding.Source]
	return in == nil || len(in.Requires) == 0
}

// entityBinding returns the binding of a supergraph field typ.field on an object that another source made, or
// nil when the field is not fetched from subgraphs there: a field of a type no subgraph can enter by a key, or
// one of the type's key fields (the object carries those itself).
func (p *planner) entityBinding(typ, field string) *schema.Binding {
	fed := p.sg.Federation
	if fed == nil || fed.Types[typ] == nil || fed.Types[typ].Fields[field] == nil {
		return nil
	}
	ft := fed.Types[typ]
	keyed := false
	for _, in := range ft.In {
		for _, k := range in.Keys {
			if hasField(k.Selection, field) {
				return nil
			}
			keyed = keyed || k.Resolvable
		}
	}
	if !keyed {
		return nil
	}
	subs := fed.Resolvers(typ, field)
	if len(subs) == 0 {
		return nil
	}
	return &schema.Binding{Type: typ, Field: field, Source: subs[0], Federated: true}
}

// entityGroup returns the group of the _entities fetches of the objects of type typ at path under fetch parent.
func (p *planner) entityGroup(parent *Fetch, path, typ string) *fedGroup {
	key := fmt.Sprintf("%d|%s|%s", parent.ID, path, typ)
	if p.entityGroups == nil {
		p.entityGroups = map[string]*fedGroup{}
	}
	g := p.entityGroups[key]
	if g == nil {
		g = &fedGroup{entityType: typ}
		p.entityGroups[key] = g
	}
	return g
}

// hasValueFields reports whether a root field is a `value` binding, whose templates may read request headers:
// its answer is not the same for every request. (Without fetches, nothing below the root has other data.)
func hasValueFields(s *Selection) bool {
	for _, f := range s.Fields {
		if f.Kind == FieldValue {
			return true
		}
	}
	return false
}

// selection collects the fields of sets that apply to the object type typ (CollectFields in the spec), merges
// occurrences of each response key, and plans each field.
//
// group is the deferred fragment the selection's object is written in (nil: the initial payload): the fetches of
// its fields belong to it, unless a field is itself deferred.
func (p *planner) selection(typ *ast.Definition, sets []ast.SelectionSet, parent *Fetch, path string, depth int, fwd bool, group *Defer) (*Selection, error) {
	if p.maxDepth > 0 && depth > p.maxDepth {
		return nil, &PlanError{Message: fmt.Sprintf("the operation is nested deeper than the limit of %d", p.maxDepth), Location: p.op.Position,
			Code: CodeDepthLimit, Extensions: map[string]any{"maxDepth": p.maxDepth}}
	}
	sel := &Selection{Type: typ}
	var order []string
	groups := map[string][]*ast.Field{}
	visited := map[string]spread{}
	c := &collected{groups: groups, order: &order, visited: visited, parent: group, path: path}
	for _, set := range sets {
		p.collect(typ, set, c, nil)
	}
	if p.err != nil {
		return nil, p.err
	}
	for _, key := range order {
		f, err := p.field(typ, groups[key], parent, path, depth, fwd, c.defers[key], group)
		if err != nil {
			return nil, err
		}
		f.Index = len(sel.Fields)
		sel.Fields = append(sel.Fields, f)
	}
	return sel, nil
}

// collected is what collect gathers for one selection: the occurrences of each response key in order, and the
// deferred fragment of each key's occurrences.
type collected struct {
	groups  map[string][]*ast.Field
	order   *[]string
	visited map[string]spread
	// defers holds each key's deferred fragment: the innermost one every fragment it is selected in is nested
	// in (or is), or none when there is none below the selection's or an occurrence is not deferred.
	defers map[string]*Defer
	// parent is the deferred fragment of the selection's object; path its response path.
	parent *Defer
	path   string
}

// spread is how a named fragment was collected into a selection.
type spread uint8

const (
	// spreadDeferred: in a deferred fragment (its own @defer, or an enclosing one's).
	spreadDeferred spread = iota + 1
	// spreadPlain: with its object.
	spreadPlain
)

// collect gathers set's fields that apply to typ into c; dfr is the @defer fragment set is in (nil: none at
// this level).
func (p *planner) collect(typ *ast.Definition, set ast.SelectionSet, c *collected, dfr *Defer) {
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			if !p.included(s.Directives) {
				continue
			}
			key := s.Alias
			if key == "" {
				key = s.Name
			}
			if _, ok := c.groups[key]; !ok {
				*c.order = append(*c.order, key)
				if dfr != nil {
					if c.defers == nil {
						c.defers = map[string]*Defer{}
					}
					c.defers[key] = dfr
				}
			} else if cur := c.defers[key]; cur != nil && cur != dfr {
				// Selected in two fragments (or also without one): it comes with the innermost fragment both are
				// nested in, or with its object, so that each fragment's payload holds it when it arrives.
				if common := commonDefer(cur, dfr, c.parent); common != nil {
					c.defers[key] = common
				} else {
					delete(c.defers, key)
				}
			}
			c.groups[key] = append(c.groups[key], s)
		case *ast.InlineFragment:
			if !p.included(s.Directives) || !p.applies(s.TypeCondition, typ) {
				continue
			}
			p.collect(typ, s.SelectionSet, c, p.deferred(s.Directives, c, dfr))
		case *ast.FragmentSpread:
			if !p.included(s.Directives) {
				continue
			}
			// A fragment is collected once per selection, and once more when it is spread without @defer after
			// a deferred spread: its fields then come with their object (as graphql-js collects a deferred
			// spread apart from the plain ones).
			how := spreadPlain
			if dfr != nil || p.deferActive(s.Directives) {
				how = spreadDeferred
			}
			if c.visited[s.Name] >= how {
				continue
			}
			def := p.doc.Fragments.ForName(s.Name)
			if def == nil || !p.applies(def.TypeCondition, typ) {
				continue
			}
			c.visited[s.Name] = how
			p.collect(typ, def.SelectionSet, c, p.deferred(s.Directives, c, dfr))
		}
	}
}

// deferred returns the deferred fragment of a fragment with directives dirs inside one of dfr: a new one when it
// has an active @defer in an operation that delivers incrementally (a query), else dfr.
func (p *planner) deferred(dirs ast.DirectiveList, c *collected, dfr *Defer) *Defer {
	if !p.deferActive(dirs) {
		return dfr
	}
	d := dirs.ForName("defer")
	if p.plan.Fields+len(p.plan.Deferred) >= p.maxFields {
		// A fragment is a node of the plan too: the plan stays within maxFields nodes however many fragments
		// select no field.
		p.fail(&PlanError{Message: fmt.Sprintf("the operation defers more fragments than the limit of %d fields and fragments, over the cost limit", p.maxFields),
			Location: d.Position, Code: CodeCostLimit, Extensions: map[string]any{"maxCost": p.maxFields}})
		return dfr
	}
	parent := c.parent
	if dfr != nil {
		parent = dfr
	}
	nd := &Defer{ID: len(p.plan.Deferred) + 1, Label: p.label(d), Parent: parent, Path: c.path, Location: d.Position}
	p.plan.Deferred = append(p.plan.Deferred, nd)
	return nd
}

// deferActive reports whether dirs hold an active @defer in an operation that delivers incrementally (a query).
func (p *planner) deferActive(dirs ast.DirectiveList) bool {
	d := dirs.ForName("defer")
	return d != nil && p.op.Operation == ast.Query && p.active(d)
}

// fail records the planner's first refusal.
func (p *planner) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// commonDefer returns the innermost deferred fragment that a and b both are or are nested in, below stop (the
// fragment of the selection's object); nil when there is none.
func commonDefer(a, b, stop *Defer) *Defer {
	for x := b; x != nil && x != stop; x = x.Parent {
		for y := a; y != nil && y != stop; y = y.Parent {
			if x == y {
				return x
			}
		}
	}
	return nil
}

// active evaluates the `if` argument of @defer or @stream: only false turns it off (absent, null, or a variable
// the request does not give, is its default, true).
func (p *planner) active(d *ast.Directive) bool {
	arg := d.Arguments.ForName("if")
	if arg == nil {
		return true
	}
	v, _ := arg.Value.Value(p.vars)
	return v != false
}

// label returns the label argument of @defer or @stream. As in graphql-js, a label is a literal (a plan serves
// every request of its operation: a label from a variable would be the first request's) naming one directive.
func (p *planner) label(d *ast.Directive) string {
	a := d.Arguments.ForName("label")
	if a == nil {
		return ""
	}
	if a.Value.Kind != ast.StringValue {
		p.fail(&PlanError{Message: fmt.Sprintf("the label of @%s must be a static string", d.Name), Location: a.Value.Position})
		return ""
	}
	if other := p.labels[a.Value.Raw]; other != nil && other != d {
		p.fail(&PlanError{Message: fmt.Sprintf("the label %q names two @defer or @stream directives: labels must be unique", a.Value.Raw), Location: d.Position})
	}
	if p.labels == nil {
		p.labels = map[string]*ast.Directive{}
	}
	p.labels[a.Value.Raw] = d
	return a.Value.Raw
}

// applies reports whether a fragment with type condition cond applies to the object type typ.
func (p *planner) applies(cond string, typ *ast.Definition) bool {
	if cond == "" || cond == typ.Name {
		return true
	}
	def := p.sg.Schema.Types[cond]
	if def == nil || !def.IsAbstractType() {
		return false
	}
	for _, t := range p.sg.Schema.GetPossibleTypes(def) {
		if t.Name == typ.Name {
			return true
		}
	}
	return false
}

// included evaluates @skip and @include with the request's variables.
func (p *planner) included(dirs ast.DirectiveList) bool {
	if d := dirs.ForName("skip"); d != nil && p.condition(d) {
		return false
	}
	if d := dirs.ForName("include"); d != nil && !p.condition(d) {
		return false
	}
	return true
}

func (p *planner) condition(d *ast.Directive) bool {
	arg := d.Arguments.ForName("if")
	if arg == nil {
		return false
	}
	v, err := arg.Value.Value(p.vars)
	if err != nil {
		return false
	}
	b, _ := v.(bool)
	return b
}

func (p *planner) field(typ *ast.Definition, occurrences []*ast.Field, parent *Fetch, path string, depth int, fwd bool, dfr, in *Defer) (*Field, error) {
	first := occurrences[0]
	if p.plan.Fields++; p.plan.Fields > p.maxFields {
		return nil, &PlanError{Message: fmt.Sprintf("the operation selects more than %d fields, over the cost limit: ask for fewer fields", p.maxFields),
			Location: first.Position, Code: CodeCostLimit, Extensions: map[string]any{"maxCost": p.maxFields}}
	}
	f := &Field{Alias: first.Alias, Name: first.Name, Parent: typ.Name, Arguments: first.Arguments, Location: first.Position, Forwarded: fwd,
		pathName: ast.PathName(first.Alias), Defer: dfr}
	if dfr != nil {
		in = dfr // the field, and everything below it, is written in its own deferred fragment
	}
	if f.Alias == "" {
		f.Alias = f.Name
	}
	if first.Alias != "" && first.Alias != first.Name {
		p.aliases++
	}
	fpath := f.Alias
	if path != "" {
		fpath = path + "." + f.Alias
	}
	f.in = in
	if d := first.Directives.ForName("stream"); d != nil {
		if def := typ.Fields.ForName(first.Name); def == nil || def.Type.Elem == nil {
			return nil, &PlanError{Message: fmt.Sprintf("@stream cannot be used on %s.%s, which is not a list", typ.Name, first.Name), Location: d.Position}
		}
		if p.op.Operation == ast.Query && p.active(d) {
			label := p.label(d)
			if p.err != nil {
				return nil, p.err
			}
			f.Stream = &Stream{Label: label, group: &Defer{Label: label, Parent: in, Path: fpath, Location: d.Position}}
			if a := d.Arguments.ForName("initialCount"); a != nil {
				f.Stream.InitialCount = a.Value
			}
			p.plan.Streamed = append(p.plan.Streamed, f)
		}
	}
	switch f.Name {
	case "__typename":
		f.Kind = FieldTypename
		return f, nil
	case "__schema", "__type":
		p.plan.Introspective = true
		f.Kind = FieldSchema
		if f.Name == "__type" {
			f.Kind = FieldType
		}
		f.Def = p.sg.Schema.Query.Fields.ForName(f.Name)
		if f.Def == nil {
			f.Def = introspectionField(p.sg.Schema, f.Name)
		}
	default:
		f.Def = typ.Fields.ForName(f.Name)
	}
	if f.Def == nil {
		return nil, &PlanError{Message: fmt.Sprintf("cannot query field %q on type %q", f.Name, typ.Name), Location: first.Position}
	}
	if f.Kind == FieldData {
		f.Binding = p.sg.Binding(typ.Name, f.Name)
		var group *fedGroup
		if f.Binding == nil && parent != nil && !parent.Binding.Federated && !p.forwardedFrom(parent, typ.Name, f.Name) {
			// A supergraph field of an object another source made (a REST answer): an _entities fetch.
			if f.Binding = p.entityBinding(typ.Name, f.Name); f.Binding != nil {
				group = p.entityGroup(parent, path, typ.Name)
			}
		}
		switch {
		case f.Binding == nil:
		case f.Binding.Fetches():
			f.Kind = FieldFetch
			f.Fetch = &Fetch{ID: len(p.plan.Fetches) + 1, Field: f, Binding: f.Binding, Parent: parent, Path: fpath,
				Batched: f.Binding.Batch != nil && parent != nil, Defer: in}
			p.plan.Fetches = append(p.plan.Fetches, f.Fetch)
			if parent == nil {
				if depth == 1 {
					// A root field: the root object is its parent. A field below a root field that fetches
					// nothing (a `value` or parent data) gets its parents when that field is built (buildIn).
					p.plan.Roots = append(p.plan.Roots, f.Fetch)
				}
			} else {
				parent.Children = append(parent.Children, f.Fetch)
			}
			f.Fetch.fetcher, fwd = p.newFetcher(f.Fetch)
			if group != nil {
				group.fields = append(group.fields, f)
				f.Fetch.Fed, f.Fetch.fetcher = group, group
			}
			parent = f.Fetch
		case f.Binding.Value != nil:
			f.Kind = FieldValue
		}
	}
	named := p.sg.Schema.Types[f.Def.Type.Name()]
	if named == nil || (named.Kind != ast.Object && !named.IsAbstractType()) {
		return f, p.prepare(f)
	}
	subPath := fpath + strings.Repeat(".@", listDepth(f.Def.Type))
	var sets []ast.SelectionSet
	for _, o := range occurrences {
		sets = append(sets, o.SelectionSet)
	}
	if named.Kind == ast.Object {
		sub, err := p.selection(named, sets, parent, subPath, depth+1, fwd, in)
		if err != nil {
			return nil, err
		}
		f.Object = sub
		return f, p.prepare(f)
	}
	f.ByType = map[string]*Selection{}
	for _, t := range p.sg.Schema.GetPossibleTypes(named) {
		sub, err := p.selection(t, sets, parent, subPath, depth+1, fwd, in)
		if err != nil {
			return nil, err
		}
		f.ByType[t.Name] = sub
	}
	return f, p.prepare(f)
}

// prepare lets the fetch of f, if it has one, complete itself once its sub-selection is planned.
func (p *planner) prepare(f *Field) error {
	if f.Kind != FieldFetch {
		return nil
	}
	return f.Fetch.fetcher.prepare(p, f)
}

func listDepth(t *ast.Type) int {
	n := 0
	for ; t.Elem != nil; t = t.Elem {
		n++
	}
	return n
}

// introspectionField returns the definition of __schema or __type, which gqlparser keeps out of Query.Fields.
func introspectionField(s *ast.Schema, name string) *ast.FieldDefinition {
	switch name {
	case "__schema":
		return &ast.FieldDefinition{Name: name, Type: ast.NonNullNamedType("__Schema", nil)}
	case "__type":
		return &ast.FieldDefinition{Name: name, Type: ast.NamedType("__Type", nil),
			Arguments: ast.ArgumentDefinitionList{{Name: "name", Type: ast.NonNullNamedType("String", nil)}}}
	}
	return nil
}

// parentFields lists the parent fields a binding's templates read (the first segment of each {{parent.*}}).
func parentFields(b *schema.Binding) []string {
	var out []string
	for _, t := range b.Templates() {
		for _, v := range t.Vars() {
			if v.Scope == schema.ScopeParent {
				out = append(out, v.Path[0])
			}
		}
	}
	if b.Discriminator != nil {
		out = append(out, b.Discriminator.Field[0])
	}
	return out
}
