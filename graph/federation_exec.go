package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/sources"
)

// fedRun executes one fedGroup for one request. Calls run as soon as the calls they wait for have finished;
// their answers are merged into one data tree under mu (locked to read representations and to merge, never
// across a request).
type fedRun struct {
	x *execution
	g *fedGroup

	mu   sync.Mutex
	data map[string]any
	// errs are the subgraph errors with their paths from the root (first element: a root field's alias).
	errs []resolvers.UpstreamError
	// failed holds the error of each root step whose request failed as a whole.
	failed map[*fedStep]error
}

// maxEntityErrors bounds the errors one failed `_entities` call adds (one per object it would have filled).
const maxEntityErrors = 10

// maxCallErrors bounds the errors one subgraph answer adds; the rest are counted in one more error.
const maxCallErrors = 100

// runFederated runs the group of the federated root fields fetches (all of one group) for the root object o,
// then settles those fields and collects the fetches below them into todo.
func (x *execution) runFederated(fetches []*Fetch, parents []*object, todo pending) {
	g := fetches[0].Fed
	r := &fedRun{x: x, g: g, data: map[string]any{}, failed: map[*fedStep]error{}}
	if g.entityType != "" {
		// What the representations read of the parents' own objects, copied (a backend's answer may be shared
		// by several parents, and by other requests): the calls merge the fetched fields into the copies.
		keep := g.parentFields()
		items := make([]any, len(parents))
		for i, o := range parents {
			if m, ok := o.raw.(map[string]any); ok {
				c := make(map[string]any, len(keep))
				for k := range keep {
					if v, ok := m[k]; ok {
						c[k] = deepCopy(v)
					}
				}
				items[i] = c
			}
		}
		r.data["_"] = items
	}
	remaining := make(map[*fedCall]int, len(g.calls))
	dependents := map[*fedCall][]*fedCall{}
	for _, c := range g.calls {
		remaining[c] = len(c.deps)
		for _, d := range c.deps {
			dependents[d] = append(dependents[d], c)
		}
	}
	var wg sync.WaitGroup
	var start func(c *fedCall)
	start = func(c *fedCall) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			func() {
				defer func() {
					if p := recover(); p != nil {
						r.fail(c, x.fetchPanicked(fetches[0], p))
					}
				}()
				ctx, span := x.startFedCall(fetches, c)
				endSpan(span, r.call(ctx, c))
			}()
			var ready []*fedCall
			r.mu.Lock()
			for _, d := range dependents[c] {
				if remaining[d]--; remaining[d] == 0 {
					ready = append(ready, d)
				}
			}
			r.mu.Unlock()
			for _, d := range ready {
				start(d)
			}
		}()
	}
	for _, c := range g.calls {
		if len(c.deps) == 0 {
			start(c)
		}
	}
	wg.Wait()
	for _, u := range g.unreached {
		for i, t := range r.objectsAt(u.at) {
			if i == maxEntityErrors {
				break
			}
			r.errs = append(r.errs, resolvers.UpstreamError{Message: u.msg, Path: append(append([]any(nil), t.path...), u.field.Alias),
				Extensions: map[string]any{"code": "FIELD_NOT_REACHABLE"}})
		}
	}

	if g.entityType != "" {
		r.settleEntities(fetches, parents, todo)
		return
	}
	o := parents[0]
	byRoot := map[string][]resolvers.UpstreamError{}
	for _, e := range r.errs {
		if len(e.Path) > 0 {
			if alias, ok := e.Path[0].(string); ok {
				e.Path = e.Path[1:]
				byRoot[alias] = append(byRoot[alias], e)
			}
		}
	}
	for _, f := range fetches {
		if err := r.failed[g.rootStep(f.Field)]; err != nil {
			x.settle(o, f.Field, nil, err, todo)
			continue
		}
		errs := byRoot[f.Field.Alias]
		sort.SliceStable(errs, func(i, j int) bool { return fmt.Sprint(errs[i].Path) < fmt.Sprint(errs[j].Path) })
		x.settle(o, f.Field, &resolvers.ForwardResult{Value: r.data[f.Field.Alias], Errors: errs}, nil, todo)
	}
}

// settleEntities settles an entity group's fields of each parent from its merged copy, with the errors under
// it (paths "_", i, alias, ...).
func (r *fedRun) settleEntities(fetches []*Fetch, parents []*object, todo pending) {
	type at struct {
		i     int
		alias string
	}
	errs := map[at][]resolvers.UpstreamError{}
	for _, e := range r.errs {
		if len(e.Path) < 3 {
			continue
		}
		i, ok := fedIndex(e.Path[1])
		alias, ok2 := e.Path[2].(string)
		if ok && ok2 {
			e.Path = e.Path[3:]
			errs[at{i, alias}] = append(errs[at{i, alias}], e)
		}
	}
	items, _ := r.data["_"].([]any)
	for i, o := range parents {
		m, _ := items[i].(map[string]any)
		for _, f := range fetches {
			var v any
			if m != nil {
				v = m[f.Field.Alias]
			}
			r.x.settle(o, f.Field, &resolvers.ForwardResult{Value: v, Errors: errs[at{i, f.Field.Alias}]}, nil, todo)
		}
	}
}

// parentFields names the fields of the parents' own objects that an entity group's representations read.
func (g *fedGroup) parentFields() map[string]bool {
	out := map[string]bool{"__typename": true}
	for _, st := range g.steps {
		if st.entity && st.pos.path == "_.@" {
			for _, n := range st.reps.fields {
				out[n.alias] = true
			}
		}
	}
	return out
}

// deepCopy copies a JSON value's objects and lists.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, e := range v {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = deepCopy(e)
		}
		return c
	}
	return v
}

// rootStep returns the root step that fetches root field f.
func (g *fedGroup) rootStep(f *Field) *fedStep {
	for _, st := range g.steps {
		if !st.entity && st.sel.byKey[f.Alias] != nil {
			return st
		}
	}
	return nil
}

// target is one object an `_entities` step fills and its path from the root.
type target struct {
	obj  map[string]any
	path []any
}

// call sends one subgraph request and merges its answer. It returns the error of a call that failed as a whole
// (for its span).
func (r *fedRun) call(ctx context.Context, c *fedCall) error {
	x := r.x
	if se := x.stopped(); se != nil {
		r.fail(c, se)
		return se
	}
	vars := map[string]any{}
	for _, v := range c.vars {
		if val, ok := x.fieldArgs(v.field)[v.arg]; ok {
			vars[v.name] = val
		}
	}
	// owners[i][j] are the objects of representation j of step i.
	var owners [][][]target
	if !c.root {
		r.mu.Lock()
		any := false
		owners = make([][][]target, len(c.steps))
		n := 0
		for i, st := range c.steps {
			reps, own := r.representations(st)
			vars["r"+strconv.Itoa(i)] = reps
			owners[i] = own
			any = any || len(reps) > 0
			n += len(reps)
		}
		r.mu.Unlock()
		setBatchSize(ctx, n)
		if !any {
			return nil // no object to fill: nothing to ask
		}
	}
	if err := x.loaders.Start(); err != nil {
		err = x.stopFor(err)
		r.fail(c, err)
		return err
	}
	ans, err := x.engine.resolvers.PostGraphQL(ctx, c.subgraph, c.doc, vars, x.headers, !(c.root && r.g.mutation))
	if err != nil {
		err = x.stopFor(err)
		r.fail(c, err)
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range ans.Errors {
		ans.Errors[i].Extensions = withSource(ans.Errors[i].Extensions, c.subgraph)
	}
	defer r.unalias(c)
	// A hostile or broken subgraph may answer any number of errors: one answer adds at most maxCallErrors, and
	// one more that counts the rest.
	added, dropped := 0, 0
	var last []any
	add := func(e resolvers.UpstreamError) {
		if added == maxCallErrors {
			dropped++
			return
		}
		added++
		last = e.Path
		r.errs = append(r.errs, e)
	}
	defer func() {
		if dropped > 0 {
			r.errs = append(r.errs, resolvers.UpstreamError{Message: fmt.Sprintf("%d more errors from subgraph %s", dropped, c.subgraph),
				Path: last, Extensions: map[string]any{"code": "TOO_MANY_ERRORS", "source": c.subgraph}})
		}
	}()
	if c.root {
		merge(r.data, ans.Data)
		for _, e := range ans.Errors {
			// An error that names no root field of the call (no path, or not one of its response keys) is the
			// call's: reported at its first root field rather than lost.
			alias := ""
			if len(e.Path) > 0 {
				alias, _ = e.Path[0].(string)
			}
			if c.steps[0].sel.byKey[alias] == nil && len(c.steps[0].sel.fields) > 0 {
				e.Path = []any{c.steps[0].sel.fields[0].alias}
			}
			add(e)
		}
		return nil
	}
	for i := range c.steps {
		alias := "_" + strconv.Itoa(i)
		list, _ := ans.Data[alias].([]any)
		for j, own := range owners[i] {
			if j >= len(list) {
				break
			}
			if m, ok := list[j].(map[string]any); ok {
				m = c.steps[i].sel.only(m)
				for _, t := range own {
					merge(t.obj, m)
				}
			}
		}
	}
	for _, e := range ans.Errors {
		i, j, rest := entityPath(e.Path)
		if i < 0 || i >= len(owners) || j < 0 || j >= len(owners[i]) {
			// Not placed on an entity: it belongs to every object of the call; report it at the first.
			for _, own := range owners {
				if len(own) > 0 && len(own[0]) > 0 {
					add(resolvers.UpstreamError{Message: e.Message, Path: own[0][0].path, Extensions: e.Extensions})
					break
				}
			}
			continue
		}
		// The objects sharing one representation share its error: reported at the first maxEntityErrors of them,
		// so that one error of a key many objects have cannot multiply into an answer's worth of errors.
		for _, t := range owners[i][j][:min(len(owners[i][j]), maxEntityErrors)] {
			add(resolvers.UpstreamError{Message: e.Message, Path: append(append([]any(nil), t.path...), rest...),
				Extensions: e.Extensions})
		}
	}
	return nil
}

// only returns the part of an `_entities` item that selection s asked for: a subgraph answering other fields
// (another subgraph's, at the same objects) does not overwrite them.
func (s *fsel) only(m map[string]any) map[string]any {
	for k := range m {
		if !s.asks(k) {
			out := make(map[string]any, len(m))
			for k, v := range m {
				if s.asks(k) {
					out[k] = v
				}
			}
			return out
		}
	}
	return m
}

// asks reports whether s (or one of its fragments) selects response key k; __typename (the concrete type an
// @interfaceObject's objects get) and the keys the document aliases (renames) are always taken.
func (s *fsel) asks(k string) bool {
	if k == "__typename" || s.byKey[k] != nil || strings.Contains(k, "__alias_") {
		return true
	}
	for _, f := range s.frags {
		if f.asks(k) {
			return true
		}
	}
	return false
}

// withSource adds the subgraph's name to a subgraph error's extensions (extensions.source, as other sources'
// errors have it), keeping the subgraph's own.
func withSource(ext map[string]any, sub string) map[string]any {
	out := make(map[string]any, len(ext)+1)
	for k, v := range ext {
		out[k] = v
	}
	if _, ok := out["source"]; !ok {
		out["source"] = sub
	}
	return out
}

// entityPath splits an `_entities` error path ["_<i>", j, rest...] into i, j and rest (-1 when it has another
// form).
func entityPath(p []any) (int, int, []any) {
	if len(p) < 2 {
		return -1, -1, nil
	}
	s, ok := p[0].(string)
	if !ok || !strings.HasPrefix(s, "_") {
		return -1, -1, nil
	}
	i, err := strconv.Atoi(s[1:])
	if err != nil {
		return -1, -1, nil
	}
	j, ok := fedIndex(p[1])
	if !ok {
		return -1, -1, nil
	}
	return i, j, cleanPath(p[2:])
}

// cleanPath keeps the part of a subgraph's error path below an entity that can be a response path: names and
// list indexes, up to the first element that is neither (an object, a negative or fractional number).
func cleanPath(p []any) []any {
	for k, e := range p {
		switch e := e.(type) {
		case string:
			continue
		case float64:
			if e >= 0 && e < 1<<31 && e == float64(int(e)) {
				continue
			}
		case json.Number:
			if n, err := e.Int64(); err == nil && n >= 0 && n < 1<<31 {
				continue
			}
		case int:
			if e >= 0 {
				continue
			}
		}
		return p[:k]
	}
	return p
}

func fedIndex(v any) (int, bool) {
	switch v := v.(type) {
	case float64:
		return int(v), true
	case int:
		return v, true
	case int64:
		return int(v), true
	case fmt.Stringer:
		n, err := strconv.Atoi(v.String())
		return n, err == nil
	case string:
		n, err := strconv.Atoi(v)
		return n, err == nil
	}
	return 0, false
}

// fail records the failure of call c: a root call's fields fail with err; an `_entities` call's fields stay
// null, with err reported at the objects it would have filled.
func (r *fedRun) fail(c *fedCall, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.root {
		for _, st := range c.steps {
			r.failed[st] = err
		}
		return
	}
	ue := r.upstreamError(err)
	n := 0
	for _, st := range c.steps {
		for _, t := range r.targets(st) {
			if n++; n > maxEntityErrors {
				return
			}
			e := ue
			e.Path = t.path
			r.errs = append(r.errs, e)
		}
	}
}

// upstreamError turns a failed call's error into a located error's message and extensions.
func (r *fedRun) upstreamError(err error) resolvers.UpstreamError {
	var se *sources.Error
	errors.As(err, &se)
	if se == nil {
		var stop *stopError
		if errors.As(err, &stop) {
			return resolvers.UpstreamError{Message: stop.Error(), Extensions: map[string]any{"code": string(stop.code)}}
		}
		return resolvers.UpstreamError{Message: err.Error(), Extensions: map[string]any{"code": "INTERNAL_SERVER_ERROR"}}
	}
	msg := se.PublicMessage()
	if r.x.engine.sg.Settings.ExposeUpstreamDetails {
		msg = se.Error()
	}
	ext := map[string]any{"code": string(se.Code), "source": se.Source}
	if se.Status != 0 {
		ext["status"] = se.Status
	}
	return resolvers.UpstreamError{Message: msg, Extensions: ext}
}

// targets collects the objects at step st's position whose type is st's. Called with mu held.
func (r *fedRun) targets(st *fedStep) []target {
	all := r.objectsAt(st.pos.path)
	out := all[:0]
	for _, t := range all {
		if tn, ok := t.obj["__typename"].(string); ok && tn != st.typ && !st.anyType {
			continue
		}
		out = append(out, t)
	}
	return out
}

// unalias applies call c's renames to the merged data. Called with mu held.
func (r *fedRun) unalias(c *fedCall) {
	for _, rn := range c.renames {
		for _, t := range r.objectsAt(rn.at) {
			if v, ok := t.obj[rn.from]; ok {
				delete(t.obj, rn.from)
				merge(t.obj, map[string]any{rn.to: v})
			}
		}
	}
}

// objectsAt collects the objects at a position path of the data. Called with mu held.
func (r *fedRun) objectsAt(path string) []target {
	segs := strings.Split(strings.TrimPrefix(path, "."), ".")
	// Walk element by element: a name reads a key of each object, "@" flattens a list.
	type node struct {
		v    any
		path []any
	}
	nodes := []node{{v: r.data}}
	for _, seg := range segs {
		var next []node
		for _, n := range nodes {
			if t, ok := strings.CutPrefix(seg, "~"); ok {
				// The objects of one type of an abstract field; an interface's own name (the objects of an
				// @interfaceObject) is all of them.
				if def := r.x.engine.sg.Schema.Types[t]; def != nil && def.IsAbstractType() {
					next = append(next, n)
					continue
				}
				if m, _ := n.v.(map[string]any); m != nil && m["__typename"] == t {
					next = append(next, n)
				}
				continue
			}
			if seg == "@" {
				list, _ := n.v.([]any)
				for i, e := range list {
					next = append(next, node{v: e, path: append(append([]any(nil), n.path...), i)})
				}
				continue
			}
			m, _ := n.v.(map[string]any)
			if v, ok := m[seg]; ok && v != nil {
				next = append(next, node{v: v, path: append(append([]any(nil), n.path...), seg)})
			}
		}
		nodes = next
	}
	out := make([]target, 0, len(nodes))
	for _, n := range nodes {
		if m, ok := n.v.(map[string]any); ok {
			out = append(out, target{obj: m, path: n.path})
		}
	}
	return out
}

// representations builds step st's representations from the objects at its position, one per distinct value;
// own[j] lists the objects of representation j. An object whose key has a null or missing field has no
// entity to ask for and is left as it is. Called with mu held.
func (r *fedRun) representations(st *fedStep) (reps []any, own [][]target) {
	reps = []any{} // JSON [] even when empty: the variable is a non-null list
	seen := map[string]int{}
	for _, t := range r.targets(st) {
		rep, ok := project(st.reps, t.obj, st.repType, st.keys)
		if !ok {
			continue
		}
		k := canonical(rep)
		if j, dup := seen[k]; dup {
			own[j] = append(own[j], t)
			continue
		}
		seen[k] = len(reps)
		reps = append(reps, rep)
		own = append(own, []target{t})
	}
	return reps, own
}

// project copies the fields of s out of obj (a representation); keys names the fields that must not be null.
func project(s *fsel, obj map[string]any, typename string, keys map[string]bool) (map[string]any, bool) {
	rep := make(map[string]any, len(s.fields))
	for _, n := range s.fields {
		if n.name == "__typename" {
			if typename != "" {
				rep["__typename"] = typename
			} else if tn, ok := obj["__typename"]; ok {
				rep["__typename"] = tn
			}
			continue
		}
		v, ok := obj[n.alias]
		if (!ok || v == nil) && keys[n.alias] {
			return nil, false
		}
		if n.sub != nil && v != nil {
			v = projectValue(n.sub, v)
		} else {
			// A list or object leaf (a JSON scalar used as a key) is copied: the representation is encoded after
			// mu is released, while another call may merge into the data tree's own value in place.
			v = deepCopy(v)
		}
		rep[n.name] = v
	}
	for _, f := range s.frags {
		if tn, _ := obj["__typename"].(string); tn == f.typ {
			sub, _ := project(f, obj, "", nil)
			for k, v := range sub {
				rep[k] = v
			}
		}
	}
	return rep, true
}

func projectValue(s *fsel, v any) any {
	switch v := v.(type) {
	case map[string]any:
		m, _ := project(s, v, "", nil)
		return m
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = projectValue(s, e)
		}
		return out
	}
	return v
}

// canonical is a representation's identity: its JSON with sorted keys.
func canonical(v any) string {
	var b strings.Builder
	writeCanonical(&b, v)
	return b.String()
}

func writeCanonical(b *strings.Builder, v any) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for _, k := range keys {
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			writeCanonical(b, v[k])
			b.WriteByte(',')
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for _, e := range v {
			writeCanonical(b, e)
			b.WriteByte(',')
		}
		b.WriteByte(']')
	case string:
		b.WriteString(strconv.Quote(v))
	default:
		fmt.Fprint(b, v)
	}
}

// merge merges src into dst: objects key by key, lists of objects item by item; a null never replaces a value
// another subgraph gave.
func merge(dst, src map[string]any) {
	for k, v := range src {
		old, ok := dst[k]
		if !ok || old == nil {
			dst[k] = v
			continue
		}
		switch nv := v.(type) {
		case nil:
		case map[string]any:
			if om, ok := old.(map[string]any); ok {
				merge(om, nv)
				continue
			}
			dst[k] = v
		case []any:
			if ol, ok := old.([]any); ok && len(ol) == len(nv) {
				mergeList(ol, nv)
				continue
			}
			dst[k] = v
		default:
			dst[k] = v
		}
	}
}

func mergeList(dst, src []any) {
	for i, v := range src {
		switch nv := v.(type) {
		case map[string]any:
			if om, ok := dst[i].(map[string]any); ok {
				merge(om, nv)
				continue
			}
		case []any:
			if ol, ok := dst[i].([]any); ok && len(ol) == len(nv) {
				mergeList(ol, nv)
				continue
			}
		case nil:
			continue
		}
		dst[i] = v
	}
}

// A fedGroup is the fetcher of its fetches (fetch.go): planned as a whole by planner.federate, run by
// runFederated.

func (*fedGroup) prepare(*planner, *Field) error { return nil }

func (g *fedGroup) group(*Fetch) any { return g }

// run runs the group for the parents of its first fetch: every fetch of a group fills the same parents.
func (g *fedGroup) run(x *execution, fetches []*Fetch, parents [][]*object) {
	todo := pending{}
	x.runFederated(fetches, parents[0], todo)
	x.dispatch(todo)
}

func (*fedGroup) describe(*Fetch) (string, string) { return "federated", "" }
