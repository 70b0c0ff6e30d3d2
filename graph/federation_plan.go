package graph

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2/ast"
)

// Federation planning (issue 14). The graph planner plans a federated root field like any fetch: its Selection
// tree is what the writer walks, and user bindings below it (REST fields on federated types) are ordinary child
// fetches. This pass decides where each federated field comes from. It walks the Selection tree from the root
// fields with a current subgraph fetch (a step): a field the step's subgraph resolves (its type and field live
// there, or a @provides on the path supplies it) is added to that step's selection; any other field goes to an
// `_entities` step of a subgraph that resolves it, entered by one of the type's @keys, whose fields are added
// to the steps that already reach the object (or fetched by further hops). @requires fields are planned the
// same way and become dependencies of the step that needs them. Steps of one subgraph that depend on the same
// steps are sent as one request (calls), so a subgraph gets one request per depth however many list parents
// and paths reach it.

// fedGroup is the federated root fields that run together: every federated root field of a query, or one root
// field of a mutation (mutation fields run one after the other).
type fedGroup struct {
	fields   []*Field
	mutation bool
	// entityType is set for the supergraph fields of objects another source made (a REST answer): the group
	// fetches them with _entities calls, entered by the objects' own key fields.
	entityType string
	steps      []*fedStep
	calls      []*fedCall
	// vars are the subgraph variables that carry the client's argument values, in the order they were made.
	vars []*fedVar
	// unreached are the fields no subgraph request can fetch on their path: null, with an error.
	unreached []unreached
}

// fedStep is one selection sent to one subgraph: a root selection, or an `_entities` selection on one type for
// every object at one response path.
type fedStep struct {
	id       int
	subgraph string
	entity   bool
	// pos is where the step's entities are (nil for a root step); typ the concrete type of those objects and
	// repType the __typename of their representations (an @interfaceObject's interface, or typ).
	pos     *objPos
	typ     string
	repType string
	sel     *fsel
	// dead marks an `_entities` step abandoned while planning (its key's fields cannot be fetched): it is sent
	// nowhere.
	dead bool
	// parent marks the step that stands for the objects another source made: it makes no call, and reads their
	// key fields.
	parent bool
	// reps is what each representation carries: the key's fields and those of the @requires of its fields.
	reps *fsel
	// anyType says the position's type is an interface (an @interfaceObject's objects): every object there is
	// the step's, whatever its __typename.
	anyType bool
	// keys names the key's top-level fields: an object where one is null or missing has no entity to fetch.
	keys map[string]bool
	deps []*fedStep
	call *fedCall
}

// fedCall is one request to a subgraph: its steps (several `_entities` selections under aliases, or one root
// selection) and the calls it waits for.
type fedCall struct {
	id       int
	subgraph string
	steps    []*fedStep
	deps     []*fedCall
	// doc is the request's document; its variables are $r<i> (representations of steps[i]) and the fedVars.
	doc string
	// renames undo the aliases the document gives fields that fragments on different types select under one
	// response key with different types in the subgraph (which GraphQL does not allow in one selection).
	renames []rename
	vars    []*fedVar
	root    bool
}

// unreached is a client field at position path at that the planner found no way to fetch.
type unreached struct {
	at    string
	field *Field
	msg   string
}

// rename moves key from to key to in the objects at position path at.
type rename struct{ at, from, to string }

// fedVar is a subgraph variable holding the value of one argument of one field, as the client gave it.
type fedVar struct {
	name  string
	typ   string
	field *Field
	arg   string
}

// fsel is a selection set being built for one subgraph request.
type fsel struct {
	typ string
	// at is the position path of the objects the selection is for (set when a step enters the position).
	at     string
	fields []*fnode
	byKey  map[string]*fnode
	frags  []*fsel
}

// fnode is one field of an fsel.
type fnode struct {
	alias, name string
	// field is the client's field, whose arguments are sent; nil for a field the planner adds (keys, requires,
	// the parent fields a binding reads).
	field *Field
	// args is the argument text of a planner-added field with arguments (from a @requires field set, whose
	// values are the supergraph's own).
	args string
	sub  *fsel
}

func newFsel(typ string) *fsel { return &fsel{typ: typ, byKey: map[string]*fnode{}} }

// add returns the node of response key alias, adding it when missing.
func (s *fsel) add(alias, name string, field *Field, subType string) *fnode {
	if n := s.byKey[alias]; n != nil {
		if n.sub == nil && subType != "" {
			n.sub = newFsel(subType)
		}
		return n
	}
	n := &fnode{alias: alias, name: name, field: field}
	if subType != "" {
		n.sub = newFsel(subType)
	}
	s.byKey[alias] = n
	s.fields = append(s.fields, n)
	return n
}

// frag returns the inline fragment on typ of s, adding it when missing.
func (s *fsel) frag(typ string) *fsel {
	for _, f := range s.frags {
		if f.typ == typ {
			return f
		}
	}
	f := newFsel(typ)
	s.frags = append(s.frags, f)
	return f
}

// objPos is one object position of the response: a path from the root (response keys, "@" for each list level,
// "~Type" after an abstract field for the objects of one of its types) and the concrete type of the objects
// there. Every step that reaches the position adds its fields to its own
// selection there (in).
type objPos struct {
	path string
	typ  string
	// owner is the step that produces the objects; in holds each step's selection at the position.
	owner *fedStep
	in    map[*fedStep]*fsel
	// have says which step fetches each response key at the position.
	have map[string]*fedStep
	// provided holds, per step, the field set a @provides on the path lets that step resolve here.
	provided map[*fedStep]ast.SelectionSet
	// parent and via are the position above and the client field that leads here (nil at the root and for
	// positions of planner-added fields): another root request can reach the position again along them.
	parent *objPos
	via    *Field
	// done holds the response keys another position already fetches for these objects (the interface's own
	// fields, fetched from an @interfaceObject before the concrete type is known).
	done map[string]bool
	// client holds the client's fields at the position by response key; keyOf the response key of a field the
	// planner adds (a key's, a @requires') whose own name a different client field takes (`id: name`, or the
	// field with arguments): it is fetched as "__fed_<name>" instead, and the representations read it there.
	client map[string]*Field
	keyOf  map[string]string
}

// fedPlanner runs the federation pass over one plan. Not safe for concurrent use.
type fedPlanner struct {
	fed       *schema.Federation
	sch       *ast.Schema
	group     *fedGroup
	positions map[string]*objPos
	mutation  bool
	err       error
	// missing counts the fields a key, @requires or binding needs that no step can fetch (ensure): a key with
	// one is not used, a @requires field with one is not placed there.
	missing int
	// ensuring is set while the planner gets the fields a key or @requires needs (ensure), which a parent step
	// may read from its objects.
	ensuring bool
	// active holds the fields ensure is getting (position path, type and name), to stop at a cycle.
	active map[string]bool
}

// maxKeyHops bounds the entity hops the planner chains to get one key's fields, so that keys that can only be
// reached through each other end in a plan error instead of recursion without end.
const maxKeyHops = 8

// planFederation builds the subgraph steps of group g.
func planFederation(sg *schema.Supergraph, g *fedGroup, rootType *ast.Definition, mutation bool) error {
	g.mutation = mutation
	p := &fedPlanner{fed: sg.Federation, sch: sg.Schema, group: g, positions: map[string]*objPos{}, mutation: mutation}
	root := p.pos("", rootType.Name)
	bySub := map[string]*fedStep{}
	for _, f := range g.fields {
		// The subgraph that resolves the most of the field's selection by itself; on a tie, one already asked
		// for another root field, then the first in join__Graph order.
		sub, best := f.Binding.Source, -1
		for _, s := range p.fed.Resolvers(rootType.Name, f.Name) {
			if mutation {
				break // the group is one subgraph's run of mutation fields
			}
			score := 2 * p.cover(s, rootType.Name, f)
			if bySub[s] != nil {
				score++
			}
			if score > best {
				sub, best = s, score
			}
		}
		st := bySub[sub]
		if st == nil {
			st = p.step(sub, false, nil, rootType.Name, "")
			bySub[sub] = st
			root.in[st] = st.sel
			if root.owner == nil {
				root.owner = st
			}
		}
		p.field(root, f, st)
	}
	if p.err != nil {
		return p.err
	}
	p.calls()
	return nil
}

// planEntities plans the _entities calls of an entity group: the parents are at position "_.@" of the data.
func planEntities(sg *schema.Supergraph, g *fedGroup) error {
	p := &fedPlanner{fed: sg.Federation, sch: sg.Schema, group: g, positions: map[string]*objPos{}}
	pos := p.pos("_.@", g.entityType)
	parent := p.step("", false, nil, g.entityType, "")
	parent.parent = true
	pos.owner, pos.in[parent] = parent, parent.sel
	for _, f := range g.fields {
		st := p.stepFor(pos, f.Name, nil, nil, 0)
		if st == nil {
			return &PlanError{Message: fmt.Sprintf("cannot plan %s.%s: no subgraph that resolves it can be entered by a key of the %s objects", g.entityType, f.Name, g.entityType),
				Location: f.Location}
		}
		p.place(pos, f, st)
	}
	if p.err != nil {
		return p.err
	}
	p.calls()
	return nil
}

// cover counts the fields of f's selection (f included) that subgraph sub resolves without leaving it.
func (p *fedPlanner) cover(sub, typ string, f *Field) int {
	if !p.fed.CanResolve(sub, typ, f.Name) {
		return 0
	}
	n := 1
	if f.Object != nil {
		for _, sf := range f.Object.Fields {
			if sf.Kind == FieldData {
				n += p.cover(sub, f.Object.Type.Name, sf)
			}
		}
	}
	for t, sel := range f.ByType {
		for _, sf := range sel.Fields {
			if sf.Kind == FieldData {
				n += p.cover(sub, t, sf)
			}
		}
	}
	return n
}

func (p *fedPlanner) fail(format string, args ...any) {
	if p.err == nil {
		p.err = &PlanError{Message: fmt.Sprintf(format, args...)}
	}
}

func (p *fedPlanner) pos(path, typ string) *objPos {
	key := path + "|" + typ
	if o := p.positions[key]; o != nil {
		return o
	}
	o := &objPos{path: path, typ: typ, in: map[*fedStep]*fsel{}, have: map[string]*fedStep{}, provided: map[*fedStep]ast.SelectionSet{}}
	p.positions[key] = o
	return o
}

func (p *fedPlanner) step(sub string, entity bool, pos *objPos, typ, repType string) *fedStep {
	st := &fedStep{id: len(p.group.steps), subgraph: sub, entity: entity, pos: pos, typ: typ, repType: repType, sel: newFsel(typ)}
	if entity {
		st.reps = newFsel(typ)
	}
	p.group.steps = append(p.group.steps, st)
	return st
}

// selection plans the fields of sel (a Selection of the object type at pos) with st as the current step.
func (p *fedPlanner) selection(pos *objPos, sel *Selection, st *fedStep) {
	for _, f := range sel.Fields {
		if f.Alias == "__typename" && f.Kind != FieldTypename && p.err == nil {
			// The executor tells the objects' types (which `_entities` step is theirs, which fragment) by the
			// __typename of each object: no other field may take that response key.
			p.err = &PlanError{Message: fmt.Sprintf("cannot plan %s: the response key __typename is the objects' type under a federated field; choose another alias", f.Name),
				Location: f.Location}
			return
		}
		if f.Kind == FieldData || f.Kind == FieldTypename {
			if pos.client == nil {
				pos.client = map[string]*Field{}
			}
			pos.client[f.Alias] = f
		}
	}
	for _, f := range sel.Fields {
		if p.err != nil {
			return
		}
		if pos.done[f.Alias] {
			continue
		}
		switch f.Kind {
		case FieldTypename:
			pos.in[st].add(f.Alias, "__typename", nil, "")
		case FieldFetch, FieldValue:
			if f.Binding != nil {
				for _, name := range parentFields(f.Binding) {
					p.ensure(pos, name, nil, nil, 0)
				}
			}
		case FieldData:
			if f.Binding != nil && f.Binding.From != nil {
				if len(f.Binding.From) > 0 {
					p.ensure(pos, f.Binding.From[0], nil, nil, 0)
				}
				continue
			}
			p.field(pos, f, st)
		}
	}
}

// field plans one client field at pos, preferring the current step st.
func (p *fedPlanner) field(pos *objPos, f *Field, st *fedStep) {
	ft := p.fed.Types[pos.typ]
	if ft == nil || ft.Fields[f.Name] == nil {
		// Not a federated field (a type or field the user's own schema adds): no subgraph fetches it.
		return
	}
	target := p.stepFor(pos, f.Name, st, nil, 0)
	if target == nil {
		// The rest of the answer still arrives; this field is null with an error at each object (issue 14).
		p.group.unreached = append(p.group.unreached, unreached{at: pos.path, field: f,
			msg: fmt.Sprintf("cannot fetch %s.%s: no subgraph that resolves it can be reached from %s", pos.typ, f.Name, st.subgraph)})
		return
	}
	p.place(pos, f, target)
}

// place adds client field f at pos to step st and plans its sub-selection there.
func (p *fedPlanner) place(pos *objPos, f *Field, st *fedStep) {
	named := p.sch.Types[f.Def.Type.Name()]
	subType := ""
	if f.Object != nil || f.ByType != nil {
		subType = named.Name
	}
	n := pos.in[st].add(f.Alias, f.Name, f, subType)
	pos.have[f.Alias] = st
	if subType == "" {
		return
	}
	childPath := pos.path + "." + f.Alias + strings.Repeat(".@", listDepth(f.Def.Type))
	var provides ast.SelectionSet
	if in := p.fieldIn(pos.typ, f.Name, st.subgraph); in != nil && in.Provides != nil {
		provides = in.Provides
	} else if pv := pos.provided[st]; pv != nil {
		provides = subSelection(pv, f.Name)
	}
	if f.Object != nil {
		child := p.pos(childPath, named.Name)
		child.parent, child.via = pos, f
		p.enter(child, st, n.sub, provides)
		p.selection(child, f.Object, st)
		return
	}
	names := make([]string, 0, len(f.ByType))
	for t := range f.ByType {
		names = append(names, t)
	}
	sort.Strings(names)
	if it := p.fed.Types[named.Name]; named.Kind == ast.Interface && it != nil && it.In[st.subgraph] != nil && it.In[st.subgraph].InterfaceObject {
		p.interfaceObject(pos, f, st, n.sub, childPath, names)
		return
	}
	n.sub.add("__typename", "__typename", nil, "")
	for _, t := range names {
		if !p.possibleIn(named, t, st.subgraph) {
			continue // the subgraph never returns this type here: no fragment on a type it may not know
		}
		child := p.pos(childPath+".~"+t, t)
		child.parent, child.via = pos, f
		p.enter(child, st, n.sub.frag(t), typeProvides(provides, t))
		p.selection(child, f.ByType[t], st)
	}
}

// interfaceObject plans abstract field f whose interface st's subgraph declares as an @interfaceObject: that
// subgraph answers objects whose __typename is the interface's own name. The interface's fields it resolves
// are fetched there; when the selection needs more (the concrete type, or fields of the implementations), an
// `_entities` step on a subgraph that has the interface itself asks for the concrete __typename and those fields,
// and the positions of each concrete type start from it.
func (p *fedPlanner) interfaceObject(pos *objPos, f *Field, st *fedStep, s *fsel, childPath string, types []string) {
	iface := f.Def.Type.Name()
	posI := p.pos(childPath+".~"+iface, iface)
	posI.parent, posI.via = pos, f
	p.enter(posI, st, s, nil)
	var shared []*Field
	seen := map[string]bool{}
	concrete := false
	for _, t := range types {
		for _, sf := range f.ByType[t].Fields {
			switch {
			case sf.Kind == FieldData && sf.Binding == nil && p.fed.CanResolve(st.subgraph, iface, sf.Name):
				if !seen[sf.Alias] {
					seen[sf.Alias] = true
					shared = append(shared, sf)
				}
			default:
				concrete = true
			}
		}
	}
	if !concrete {
		for _, sf := range shared {
			p.field(posI, sf, st)
		}
		// Every possible type has the same selection: the writer takes any of them for the interface's name.
		f.AnyType = true
		s.add("__typename", "__typename", nil, "")
		return
	}
	// The step that tells the concrete type comes first: the interface's fields that need what only it has (a
	// @requires of the interface's own name, say) can then wait for it.
	var e *fedStep
	it := p.fed.Types[iface]
	for _, sg := range p.fed.Subgraphs {
		if in := it.In[sg.Name]; in != nil && !in.InterfaceObject {
			if e = p.newEntityStep(posI, sg.Name, iface, 0, ""); e != nil {
				break
			}
		}
	}
	if e == nil {
		p.fail("cannot plan %s: no subgraph that has interface %s can tell the concrete type of its objects", f.Name, iface)
		return
	}
	for _, sf := range shared {
		p.field(posI, sf, st)
	}
	e.sel.add("__typename", "__typename", nil, "")
	for _, t := range types {
		posT := p.pos(childPath+".~"+t, t)
		posT.parent, posT.via = pos, f
		posT.owner = e
		posT.in[e] = e.sel.frag(t)
		posT.in[e].at = posT.path
		posT.done = seen
		p.selection(posT, f.ByType[t], e)
	}
}

// enter records that step st reaches pos with its selection s there.
func (p *fedPlanner) enter(pos *objPos, st *fedStep, s *fsel, provides ast.SelectionSet) {
	if pos.owner == nil {
		pos.owner = st
	}
	if _, ok := pos.in[st]; !ok {
		pos.in[st] = s
	}
	if s.at == "" {
		s.at = pos.path
	}
	if provides != nil {
		pos.provided[st] = provides
	}
}

// resolves reports whether step st can fetch typ.field at pos: its subgraph resolves it, or a @provides on the
// path makes it resolvable there.
func (p *fedPlanner) resolves(pos *objPos, st *fedStep, field string) bool {
	if field == "__typename" {
		return true
	}
	if st.parent {
		// The objects' own fields: a key or a @requires reads them (client fields never go to this step).
		return p.ensuring
	}
	if st.entity && st.pos == pos && st.repType != st.typ {
		// An @interfaceObject step resolves the interface's fields on its own objects.
		return p.fed.CanResolve(st.subgraph, st.repType, field)
	}
	if p.fed.CanResolve(st.subgraph, pos.typ, field) {
		return true
	}
	if pv := pos.provided[st]; pv != nil && hasField(pv, field) {
		if ft := p.fed.Types[pos.typ]; ft != nil {
			if fd := ft.Fields[field]; fd != nil {
				_, declared := fd.In[st.subgraph]
				return declared || len(fd.In) == 0
			}
		}
	}
	return false
}

// possibleIn reports whether subgraph sub can return an object of type t for a field of abstract type named.
func (p *fedPlanner) possibleIn(named *ast.Definition, t, sub string) bool {
	ft := p.fed.Types[t]
	if ft == nil {
		return true
	}
	in, ok := ft.In[sub]
	if !ok && len(ft.In) > 0 {
		return false
	}
	nt := p.fed.Types[named.Name]
	if nt == nil {
		return true
	}
	switch named.Kind {
	case ast.Union:
		if len(nt.Members) == 0 {
			return true
		}
		return slices.Contains(nt.Members[sub], t)
	case ast.Interface:
		if in == nil || in.Implements == nil {
			return true
		}
		return slices.Contains(in.Implements, named.Name)
	}
	return true
}

// fieldIn returns how subgraph sub declares typ.field, nil when it has no @join__field there.
func (p *fedPlanner) fieldIn(typ, field, sub string) *schema.FieldIn {
	ft := p.fed.Types[typ]
	if ft == nil || ft.Fields[field] == nil {
		return nil
	}
	return ft.Fields[field].In[sub]
}

// stepFor returns the step that fetches field name at pos: pref when it can, else another step that reaches
// pos, else a new `_entities` step of a subgraph that resolves the field, entered by a key whose fields the
// steps at pos can get. A field with @requires in a step's subgraph only goes to an `_entities` step, which then
// waits for the steps that fetch the required fields (and sends them in its representations). avoid is a step
// that must neither be used nor waited for (nil for none). Nil when no step can fetch the field.
func (p *fedPlanner) stepFor(pos *objPos, name string, pref, avoid *fedStep, hops int) *fedStep {
	try := func(s *fedStep) bool {
		if s == nil || s == avoid || (avoid != nil && p.dependsOn(s, avoid)) || !p.resolves(pos, s, name) {
			return false
		}
		typ := pos.typ
		if s.entity && s.pos == pos {
			typ = s.repType
		}
		in := p.fieldIn(typ, name, s.subgraph)
		if in == nil || in.Requires == nil {
			return true
		}
		if !s.entity || hops > maxKeyHops {
			return false
		}
		missing := p.missing
		deps := p.ensureSet(pos, in.Requires, s, hops+1)
		if p.missing > missing {
			return false
		}
		for _, d := range deps {
			if p.dependsOn(d, s) {
				return false
			}
		}
		for _, d := range deps {
			s.addDep(d)
		}
		addSet(s.reps, in.Requires)
		repKeys(pos, s.reps)
		return p.err == nil
	}
	if try(pref) {
		return pref
	}
	for _, s := range p.stepsAt(pos) {
		if try(s) {
			return s
		}
	}
	for _, c := range p.candidates(pos.typ, name) {
		if s := p.newEntityStep(pos, c.sub, c.repType, hops, name); try(s) {
			return s
		}
	}
	for _, c := range p.candidates(pos.typ, name) {
		if s := p.ancestorStepTo(pos, c.sub, hops); try(s) {
			return s
		}
	}
	return nil
}

// ancestorStepTo returns a step of subgraph sub that reaches pos from an ancestor position, for a field no key
// of pos's own type reaches: the nearest ancestor whose type sub can enter by a key (an `_entities` step there),
// or else the root (a root step asking for the same root field again: a shared root field without @key, whose
// fields live in several subgraphs; queries only, as mutation fields run once). The fields from the ancestor
// down to pos are added to that step's selection. Nil when sub cannot resolve every field on the way.
func (p *fedPlanner) ancestorStepTo(pos *objPos, sub string, hops int) *fedStep {
	var chain []*objPos
	for o := pos; o.parent != nil; o = o.parent {
		chain = append(chain, o)
		if !p.fed.CanResolve(sub, o.parent.typ, o.via.Name) {
			return nil
		}
		anc := o.parent
		var st *fedStep
		if anc.parent == nil {
			if p.mutation {
				return nil
			}
			for s := range anc.in {
				if !s.entity && !s.parent && s.subgraph == sub {
					st = s
				}
			}
			if st == nil && anc.owner != nil && !anc.owner.parent {
				st = p.step(sub, false, nil, anc.typ, "")
				anc.in[st] = st.sel
			}
		} else if rt := p.fed.Types[anc.typ]; rt != nil && rt.In[sub] != nil && len(rt.In[sub].Keys) > 0 {
			for _, s := range p.stepsAt(anc) {
				if s.entity && s.subgraph == sub && s.repType == anc.typ {
					st = s
				}
			}
			if st == nil {
				st = p.newEntityStep(anc, sub, anc.typ, hops+1, "")
			}
		}
		if st == nil {
			continue
		}
		for i := len(chain) - 1; i >= 0; i-- {
			o := chain[i]
			if _, ok := o.in[st]; ok {
				continue
			}
			f := o.via
			n := o.parent.in[st].add(f.Alias, f.Name, f, p.sch.Types[f.Def.Type.Name()].Name)
			s := n.sub
			if f.ByType != nil {
				n.sub.add("__typename", "__typename", nil, "")
				s = n.sub.frag(o.typ)
			}
			p.enter(o, st, s, nil)
		}
		return st
	}
	return nil
}

// stepsAt lists the steps that reach pos, the owner first.
func (p *fedPlanner) stepsAt(pos *objPos) []*fedStep {
	out := make([]*fedStep, 0, len(pos.in))
	if pos.owner != nil {
		out = append(out, pos.owner)
	}
	for st := range pos.in {
		if st != pos.owner {
			out = append(out, st)
		}
	}
	sort.Slice(out[min(1, len(out)):], func(i, j int) bool { return out[1+i].id < out[1+j].id })
	return out
}

type candidate struct{ sub, repType string }

// candidates lists the subgraphs that resolve typ.field, with the representation type to reach them: typ
// itself, or an interface of typ that the subgraph declares as an @interfaceObject with the field.
func (p *fedPlanner) candidates(typ, field string) []candidate {
	var out []candidate
	for _, s := range p.fed.Resolvers(typ, field) {
		out = append(out, candidate{sub: s, repType: typ})
	}
	if def := p.sch.Types[typ]; def != nil {
		for _, iface := range def.Interfaces {
			it := p.fed.Types[iface]
			if it == nil {
				continue
			}
			for _, s := range p.fed.Subgraphs {
				if in := it.In[s.Name]; in != nil && in.InterfaceObject && p.fed.CanResolve(s.Name, iface, field) {
					out = append(out, candidate{sub: s.Name, repType: iface})
				}
			}
		}
	}
	return out
}

// newEntityStep makes an `_entities` step of subgraph sub at pos, entered by the first resolvable key of
// repType in sub whose fields the other steps at pos can get, for field need ("" for none): a key that has need
// itself cannot fetch it (its representations would need it first), and is skipped. Nil when there is none.
func (p *fedPlanner) newEntityStep(pos *objPos, sub, repType string, hops int, need string) *fedStep {
	if hops > maxKeyHops {
		return nil
	}
	rt := p.fed.Types[repType]
	if rt == nil || rt.In[sub] == nil {
		return nil
	}
	for _, key := range rt.In[sub].Keys {
		if !key.Resolvable || (need != "" && topField(key.Selection, need)) || !p.reachable(pos, key.Selection, sub) {
			continue
		}
		st := p.step(sub, true, pos, pos.typ, repType)
		if def := p.sch.Types[pos.typ]; def != nil && def.IsAbstractType() {
			st.anyType = true
		}
		st.addDep(pos.owner) // the step that makes the objects (and, for a concrete type, tells it)
		missing := p.missing
		for _, dep := range p.ensureSet(pos, key.Selection, st, hops+1) {
			st.addDep(dep)
		}
		if p.err != nil {
			return nil
		}
		if p.missing > missing {
			// This key's fields cannot all be fetched here: try the next key.
			st.dead = true
			continue
		}
		st.reps.add("__typename", "__typename", nil, "")
		addSet(st.reps, key.Selection)
		repKeys(pos, st.reps)
		st.keys = map[string]bool{}
		for _, s := range key.Selection {
			if f, ok := s.(*ast.Field); ok {
				st.keys[p.keyFor(pos, f.Name, f)] = true
			}
		}
		pos.in[st] = st.sel
		// The representation's __typename and the filter on concrete types read the objects' __typename.
		if pos.owner != nil {
			pos.in[pos.owner].add("__typename", "__typename", nil, "")
		}
		return st
	}
	return nil
}

// reachable reports whether each top-level field of set is fetched at pos already, or can be by a step there or
// by a subgraph other than sub.
func (p *fedPlanner) reachable(pos *objPos, set ast.SelectionSet, sub string) bool {
	prev := p.ensuring
	p.ensuring = true
	defer func() { p.ensuring = prev }()
	for _, s := range set {
		f, ok := s.(*ast.Field)
		if !ok || pos.have[f.Name] != nil {
			continue
		}
		found := false
		for _, st := range p.stepsAt(pos) {
			if p.resolves(pos, st, f.Name) {
				found = true
				break
			}
		}
		for _, c := range p.candidates(pos.typ, f.Name) {
			found = found || c.sub != sub
		}
		if !found {
			return false
		}
	}
	return true
}

// ensureSet makes sure the fields of set are fetched at pos by steps other than avoid, and returns the steps
// that fetch them.
func (p *fedPlanner) ensureSet(pos *objPos, set ast.SelectionSet, avoid *fedStep, hops int) []*fedStep {
	var out []*fedStep
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			out = append(out, p.ensure(pos, s.Name, s, avoid, hops)...)
		case *ast.InlineFragment:
			if s.TypeCondition == "" || s.TypeCondition == pos.typ {
				out = append(out, p.ensureSet(pos, s.SelectionSet, avoid, hops)...)
			}
		}
	}
	return out
}

// ensure makes sure field name (with the sub-selection and arguments of f, from a field set) is fetched at pos
// under its own name, and returns the steps that fetch it and its sub-fields.
func (p *fedPlanner) ensure(pos *objPos, name string, f *ast.Field, avoid *fedStep, hops int) []*fedStep {
	if name == "__typename" {
		if pos.owner != nil {
			pos.in[pos.owner].add("__typename", "__typename", nil, "")
			return []*fedStep{pos.owner}
		}
		return nil
	}
	// A field that getting it needs first (a @requires or key cycle, in a hand-written supergraph) cannot be
	// fetched: without this, each level of the cycle tried every step and candidate again, up to maxKeyHops
	// deep, which took time exponential in the hops.
	active := pos.path + "|" + pos.typ + "|" + name
	if p.active[active] {
		p.missing++
		return nil
	}
	if p.active == nil {
		p.active = map[string]bool{}
	}
	p.active[active] = true
	defer delete(p.active, active)
	prev := p.ensuring
	p.ensuring = true
	defer func() { p.ensuring = prev }()
	key := p.keyFor(pos, name, f)
	st := pos.have[key]
	if st == nil || st == avoid || (avoid != nil && p.dependsOn(st, avoid)) {
		if st = p.stepFor(pos, name, pos.owner, avoid, hops); st == nil {
			p.missing++
			return nil
		}
	}
	var def *ast.FieldDefinition
	if td := p.sch.Types[pos.typ]; td != nil {
		def = td.Fields.ForName(name)
	}
	subType := ""
	if f != nil && len(f.SelectionSet) > 0 && def != nil {
		subType = def.Type.Name()
	}
	n := pos.in[st].add(key, name, nil, subType)
	if f != nil && len(f.Arguments) > 0 && n.field == nil {
		n.args = argumentsText(f.Arguments)
	}
	if pos.have[key] == nil {
		pos.have[key] = st
	}
	out := []*fedStep{st}
	if subType != "" {
		childPath := pos.path + "." + key + strings.Repeat(".@", listDepth(def.Type))
		named := p.sch.Types[subType]
		if named != nil && named.IsAbstractType() {
			// A field set on an abstract field: its plain fields and the fragments on each possible type, asked
			// for in a fragment per type the subgraph may return.
			n.sub.add("__typename", "__typename", nil, "")
			for _, t := range p.sch.GetPossibleTypes(named) {
				if !p.possibleIn(named, t.Name, st.subgraph) {
					continue
				}
				set := typeProvides(f.SelectionSet, t.Name)
				if len(set) == 0 {
					continue
				}
				child := p.pos(childPath+".~"+t.Name, t.Name)
				p.enter(child, st, n.sub.frag(t.Name), nil)
				out = append(out, p.ensureSet(child, set, avoid, hops)...)
			}
			return out
		}
		child := p.pos(childPath, subType)
		p.enter(child, st, n.sub, nil)
		out = append(out, p.ensureSet(child, f.SelectionSet, avoid, hops)...)
	}
	return out
}

// keyFor returns the response key under which the planner fetches field name (of field set field f, nil for a
// plain name) at pos: its name, unless a client field there has that response key and is another field or has
// arguments (so that its value may differ from the one the planner needs).
func (p *fedPlanner) keyFor(pos *objPos, name string, f *ast.Field) string {
	if k := pos.keyOf[name]; k != "" {
		return k
	}
	c := pos.client[name]
	if c == nil || (c.Name == name && len(c.Arguments) == 0 && (f == nil || len(f.Arguments) == 0)) {
		return name
	}
	if pos.keyOf == nil {
		pos.keyOf = map[string]string{}
	}
	pos.keyOf[name] = "__fed_" + name
	return pos.keyOf[name]
}

// repKeys points the top-level fields of representation selection reps at the response keys the planner
// fetched them under at pos.
func repKeys(pos *objPos, reps *fsel) {
	for _, n := range reps.fields {
		if k := pos.keyOf[n.name]; k != "" {
			n.alias = k
		}
	}
}

func (st *fedStep) addDep(d *fedStep) {
	if d != nil && d != st && !slices.Contains(st.deps, d) {
		st.deps = append(st.deps, d)
	}
}

// dependsOn reports whether step a waits, directly or not, for step b.
func (p *fedPlanner) dependsOn(a, b *fedStep) bool {
	if a == b {
		return true
	}
	for _, d := range a.deps {
		if p.dependsOn(d, b) {
			return true
		}
	}
	return false
}

// calls groups the steps into requests: a root step is a request of its own; entity steps of one subgraph that
// wait for the same steps become ready together and go in one request.
func (p *fedPlanner) calls() {
	g := p.group
	byKey := map[string]*fedCall{}
	// Steps get their requires dependencies after they are made: order them so that a call's dependencies come
	// first.
	done := map[*fedStep]bool{}
	var order []*fedStep
	var visit func(st *fedStep)
	visit = func(st *fedStep) {
		if done[st] {
			return
		}
		done[st] = true
		for _, d := range st.deps {
			visit(d)
		}
		order = append(order, st)
	}
	for _, st := range g.steps {
		visit(st)
	}
	for _, st := range order {
		if st.parent || st.dead {
			continue
		}
		if st.pos != nil {
			// The planner adds the fields a step needs to its parents' selections; an `_entities` step whose own
			// selection ended up empty (its fields were taken by another step) is still valid with __typename.
			if len(st.sel.fields) == 0 {
				st.sel.add("__typename", "__typename", nil, "")
			}
		}
		var key string
		if st.entity {
			ids := make([]string, 0, len(st.deps))
			for _, d := range st.deps {
				if !d.parent {
					ids = append(ids, strconv.Itoa(d.id))
				}
			}
			sort.Strings(ids)
			key = st.subgraph + "|" + strings.Join(ids, ",")
		} else {
			key = "root|" + strconv.Itoa(st.id)
		}
		c := byKey[key]
		if c == nil {
			c = &fedCall{id: len(g.calls), subgraph: st.subgraph, root: !st.entity}
			byKey[key] = c
			g.calls = append(g.calls, c)
		}
		c.steps = append(c.steps, st)
		st.call = c
	}
	for _, c := range g.calls {
		for _, st := range c.steps {
			for _, d := range st.deps {
				if d.call != nil && d.call != c && !slices.Contains(c.deps, d.call) {
					c.deps = append(c.deps, d.call)
				}
			}
		}
		p.print(c)
	}
}

// topField reports whether field set set selects name at its top level.
func topField(set ast.SelectionSet, name string) bool {
	for _, s := range set {
		if f, ok := s.(*ast.Field); ok && f.Name == name {
			return true
		}
	}
	return false
}

// hasField reports whether field set set selects name (at its top level, or in a fragment).
func hasField(set ast.SelectionSet, name string) bool {
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			if s.Name == name {
				return true
			}
		case *ast.InlineFragment:
			if hasField(s.SelectionSet, name) {
				return true
			}
		}
	}
	return false
}

// subSelection returns the sub-selection of field name in set, nil when set does not select it.
func subSelection(set ast.SelectionSet, name string) ast.SelectionSet {
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			if s.Name == name {
				return s.SelectionSet
			}
		case *ast.InlineFragment:
			if sub := subSelection(s.SelectionSet, name); sub != nil {
				return sub
			}
		}
	}
	return nil
}

// typeProvides narrows a @provides field set on an abstract field to what it says of type t: its plain fields
// and those of its fragments on t.
func typeProvides(set ast.SelectionSet, t string) ast.SelectionSet {
	if set == nil {
		return nil
	}
	var out ast.SelectionSet
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			out = append(out, s)
		case *ast.InlineFragment:
			if s.TypeCondition == "" || s.TypeCondition == t {
				out = append(out, s.SelectionSet...)
			}
		}
	}
	return out
}

// addSet adds a field set's fields (keys, requires) to s under their own names.
func addSet(s *fsel, set ast.SelectionSet) {
	for _, sel := range set {
		switch f := sel.(type) {
		case *ast.Field:
			sub := ""
			if len(f.SelectionSet) > 0 {
				sub = "?"
			}
			n := s.add(f.Name, f.Name, nil, sub)
			if len(f.Arguments) > 0 {
				n.args = argumentsText(f.Arguments)
			}
			if n.sub != nil {
				addSet(n.sub, f.SelectionSet)
			}
		case *ast.InlineFragment:
			if f.TypeCondition == "" {
				addSet(s, f.SelectionSet)
			} else {
				addSet(s.frag(f.TypeCondition), f.SelectionSet)
			}
		}
	}
}

// argumentsText prints the arguments of a field set's field; they come from the supergraph, not from clients.
func argumentsText(args ast.ArgumentList) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		parts = append(parts, a.Name+": "+a.Value.String())
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
