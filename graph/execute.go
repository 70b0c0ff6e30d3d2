package graph

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2/ast"
)

// object is one object of the response under construction: its planned selection, the raw value its backend
// returned, and one value per selected field. A field's slot is written by exactly one goroutine (the one that
// built the object, or the fetch that fills the field) and read by the writer after every fetch finished.
type object struct {
	sel    *Selection
	raw    any
	values []any
	// group is the deferred fragment (or the items of a stream past initialCount) the object is written in, for
	// an operation delivered incrementally (issue 17); nil for the initial payload's.
	group *Defer
}

// fieldError marks a field whose value could not be produced; the writer reports it at each path it lands on.
type fieldError struct {
	err error
	// required propagates the null to the parent as a non-null field would (binding `required: true`).
	required bool
}

// execution runs one Plan for one client request. It owns every goroutine it starts and waits for them.
type execution struct {
	// ctx ends when the client leaves, at server.operationTimeout, or when the operation passes a limit (stop);
	// context.Cause tells which. Every fetch runs with it and every wait selects on it.
	ctx     context.Context
	cancel  context.CancelCauseFunc
	engine  *Engine
	plan    *Plan
	vars    map[string]any
	headers http.Header
	loaders *resolvers.Loaders
	wg      sync.WaitGroup
	// args caches each fetch's coerced arguments; they depend only on the field and the variables.
	argsMu sync.Mutex
	args   map[*Field]map[string]any
	// items counts the list items built, against server.maxItems.
	items atomic.Int64
	// track, for an operation delivered incrementally (issue 17), counts the running fetches per deferred
	// fragment; nil otherwise.
	track *tracker
}

// pending maps each fetch to the parent objects it must fill.
type pending map[*Fetch][]*object

// run executes the plan and returns the root object once every fetch has finished (or failed).
func (x *execution) run() *object {
	if x.plan.Operation == ast.Mutation {
		root := &object{sel: x.plan.Root, values: make([]any, len(x.plan.Root.Fields))}
		// Root mutation fields run one after the other, each with everything below it (GraphQL spec, 6.2.2). A
		// federated group (consecutive fields of one subgraph) runs as one request, which the subgraph runs in
		// order.
		var ran any
		for i, f := range x.plan.Root.Fields {
			todo := pending{}
			if se := x.stopped(); se != nil {
				root.values[f.Index] = &fieldError{err: se}
				continue
			}
			x.fill(root, f, todo)
			if f.Fetch != nil {
				g := f.Fetch.fetcher.group(f.Fetch)
				if g == ran {
					continue // ran with the first field of its group
				}
				ran = g
				var fetches []*Fetch
				var parents [][]*object
				for _, gf := range x.plan.Root.Fields[i:] {
					if gf.Fetch != nil && gf.Fetch.fetcher.group(gf.Fetch) == g {
						fetches, parents = append(fetches, gf.Fetch), append(parents, []*object{root})
					}
				}
				x.runFetches(fetches, parents)
			}
			x.dispatch(todo)
			x.wg.Wait()
		}
		return root
	}
	root := x.start()
	x.wg.Wait()
	return root
}

// start builds the root object of a query and starts its root fetches.
func (x *execution) start() *object {
	root := &object{sel: x.plan.Root, values: make([]any, len(x.plan.Root.Fields))}
	todo := pending{}
	for _, f := range x.plan.Root.Fields {
		x.fill(root, f, todo)
	}
	for _, f := range x.plan.Roots {
		todo[f] = []*object{root}
	}
	x.dispatch(todo)
	return root
}

// dispatch starts the fetches whose parents are now known. Fetches of one group (fetcher.group: a batched
// binding, a federated group) are started together, so that they can share requests.
func (x *execution) dispatch(todo pending) {
	if len(todo) == 0 {
		return
	}
	if se := x.stopped(); se != nil {
		// Stopped: no fetch starts; the fields they would fill get the reason.
		for f, parents := range todo {
			for _, o := range parents {
				o.values[f.Field.Index] = &fieldError{err: se, required: f.Binding.Required}
			}
		}
		return
	}
	groups := map[any][]*Fetch{}
	var order []any
	for f := range todo {
		key := f.fetcher.group(f)
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], f)
	}
	for _, key := range order {
		fetches := groups[key]
		parents := make([][]*object, len(fetches))
		for i, f := range fetches {
			parents[i] = todo[f]
		}
		var groups []*Defer
		if x.track != nil {
			groups = x.track.start(fetches, parents)
		}
		x.wg.Add(1)
		go func() {
			defer x.wg.Done()
			if groups != nil {
				defer x.track.finish(groups)
			}
			x.runFetches(fetches, parents)
		}()
	}
}

// runFetches runs fetches of one group for their parents with their fetcher, which dispatches what their
// results unblock.
func (x *execution) runFetches(fetches []*Fetch, parents [][]*object) {
	defer func() {
		if p := recover(); p != nil {
			err := &fieldError{err: x.fetchPanicked(fetches[0], p)}
			for i, f := range fetches {
				for _, o := range parents[i] {
					if f.Field.Index >= len(o.values) {
						continue // never: recovering must not panic (a panic in a fetch's goroutine ends the process)
					}
					switch o.values[f.Field.Index].(type) {
					case nil, *parentKey:
						o.values[f.Field.Index] = err
					}
				}
			}
		}
	}()
	if se := x.stopped(); se != nil {
		// The operation stopped while these fetches waited for a goroutine: none starts.
		todo := pending{}
		for i, f := range fetches {
			for _, o := range parents[i] {
				x.settle(o, f.Field, nil, se, todo)
			}
		}
		return
	}
	if fetches, parents = x.authorize(fetches, parents); len(fetches) == 0 {
		return // server.auth.rules refused them all (auth.go)
	}
	fetches[0].fetcher.run(x, fetches, parents)
}

// fetchPanicked logs a panic p of fetch f with its stack and returns the error of the fields it leaves unfilled.
func (x *execution) fetchPanicked(f *Fetch, p any) error {
	x.engine.log.ErrorContext(x.ctx, "panic in fetch", "binding", f.Binding.Name(), "panic", p, "stack", string(debug.Stack()))
	return fmt.Errorf("internal error while resolving %s", f.Binding.Name())
}

// settle stores a fetched value (or its error) in the parent's slot and collects the fetches below it. A
// failed fetch takes the binding's fallback when it has one; a required binding's failure nulls the parent.
func (x *execution) settle(o *object, f *Field, v any, err error, todo pending) {
	if err != nil {
		if err = x.stopFor(err); isStop(err) {
			// A stopped operation takes no fallback: it stops.
			o.values[f.Index] = &fieldError{err: err, required: f.Binding.Required}
			return
		}
		r := res(x, f)
		if r == nil {
			// A federated field (issue 14) has no resolver of its own, and no fallback.
			o.values[f.Index] = &fieldError{err: err, required: f.Binding.Required}
			return
		}
		fb, ok := r.Fallback(r.Vars(x.fieldArgs(f), o.raw, x.headers))
		if !ok {
			o.values[f.Index] = &fieldError{err: err, required: f.Binding.Required}
			return
		}
		v = fb
	}
	if fr, ok := v.(*resolvers.ForwardResult); ok {
		built := x.build(o, f, fr.Value, todo)
		if len(fr.Errors) > 0 {
			built = &forwardedValue{value: built, errs: fr.Errors}
		}
		o.values[f.Index] = built
		return
	}
	o.values[f.Index] = x.build(o, f, v, todo)
}

// forwardedValue is a field's value with the upstream GraphQL errors located under it.
type forwardedValue struct {
	value any
	errs  []resolvers.UpstreamError
}

func res(x *execution, f *Field) *resolvers.Resolver { return x.engine.resolvers.For(f.Binding) }

func (x *execution) fieldArgs(f *Field) map[string]any {
	x.argsMu.Lock()
	defer x.argsMu.Unlock()
	if a, ok := x.args[f]; ok {
		return a
	}
	a := coerceArgs(x.engine.sg.Schema, f.Def.Arguments, f.Arguments, x.vars)
	x.args[f] = a
	return a
}

// fill computes a field of o that needs no fetch of its own.
func (x *execution) fill(o *object, f *Field, todo pending) {
	if f.Kind != FieldFetch && x.refuse(o, f) {
		return // server.auth.rules (auth.go)
	}
	switch f.Kind {
	case FieldFetch, FieldTypename:
		return
	case FieldSchema:
		if !x.engine.sg.Settings.Introspection {
			o.values[f.Index] = &fieldError{err: errIntrospectionOff}
			return
		}
		o.values[f.Index] = x.build(o, f, introspectSchema(x.engine), todo)
	case FieldType:
		if !x.engine.sg.Settings.Introspection {
			o.values[f.Index] = &fieldError{err: errIntrospectionOff}
			return
		}
		name, _ := x.fieldArgs(f)["name"].(string)
		o.values[f.Index] = x.build(o, f, introspectType(x.engine, name), todo)
	case FieldValue:
		r := res(x, f)
		v := r.Value(r.Vars(x.fieldArgs(f), o.raw, x.headers))
		o.values[f.Index] = x.build(o, f, v, todo)
	default:
		var v any
		if isIntrospection(o.raw) {
			v = introspect(o.raw, f.Name, x.fieldArgs(f))
		} else if f.Binding != nil && f.Binding.From != nil {
			v = resolvers.Dig(o.raw, f.Binding.From)
		} else if m, ok := o.raw.(map[string]any); ok {
			if f.Forwarded {
				v = m[f.Alias]
			} else {
				v = m[f.Name]
			}
		}
		o.values[f.Index] = x.build(o, f, v, todo)
	}
}

// build turns a raw value for field f of parent into response values: lists element by element, objects into
// *object with their fields filled and their fetches collected into todo, leaves unchanged (the writer coerces
// them). A value of the wrong shape becomes a field error.
func (x *execution) build(parent *object, f *Field, v any, todo pending) any {
	return x.buildIn(f, f.Def.Type, v, todo, nil, cmp.Or(f.in, parent.group))
}

// stopCheck is how many list items are built (or written) between two checks of the operation's context.
const stopCheck = 1024

// slab holds the objects of one list and their value slots, allocated together: a list of n items costs two
// allocations instead of 2n.
type slab struct {
	objs []object
	vals []any
	// keys holds the items' batch keys (parentKey), when their fetches are all batched.
	keys []parentKey
}

// buildIn builds v as type t; objects are written in group g (object.group).
func (x *execution) buildIn(f *Field, t *ast.Type, v any, todo pending, s *slab, g *Defer) any {
	if v == nil {
		return nil
	}
	if t.Elem != nil {
		// A long answer comes as *resolvers.Items: each item is decoded here, built, and dropped, so that the
		// decoded list never exists whole (issue 13: memory per answer item).
		list, ok := v.([]any)
		lazy, isLazy := v.(*resolvers.Items)
		n := len(list)
		if isLazy {
			n = lazy.Len()
		} else if !ok {
			return &fieldError{err: badResponse(f, "expected a list, got %s", kindOf(v))}
		}
		// The limits are checked per list (and every stopCheck items), not per leaf.
		if se := x.stopped(); se != nil {
			return &fieldError{err: se}
		}
		if se := x.countItems(n); se != nil {
			return &fieldError{err: se}
		}
		out := make([]any, n)
		var items *slab
		if f.Object != nil && t.Elem.Elem == nil {
			items = &slab{objs: make([]object, 0, n), vals: make([]any, 0, n*len(f.Object.Fields))}
			batched, keysNow := 0, true
			for _, sf := range f.Object.Fields {
				if sf.Kind == FieldFetch {
					// Every item is a parent of the fetch: grow its list once.
					todo[sf.Fetch] = slices.Grow(todo[sf.Fetch], n)
					batched++
					keysNow = keysNow && keyedAtBuild(sf)
				}
			}
			if batched > 0 && keysNow {
				items.keys = make([]parentKey, 0, n*batched)
			}
		}
		// With incremental delivery, the items of a streamed list from streamFrom on are built with their own
		// pending fetches, dispatched at once; late keeps the caller's.
		streamFrom, late := -1, pending(nil)
		if x.track != nil && f.Stream != nil && t == f.Def.Type {
			streamFrom = f.Stream.initial(x.vars)
		}
		// Items whose object nothing keeps once they are built are all decoded into one map.
		var scratch map[string]any
		if isLazy && items != nil && reusable(f.Object) {
			scratch = make(map[string]any, len(f.Object.Fields)+1)
		}
		for i := range n {
			if i%stopCheck == stopCheck-1 && x.stopped() != nil {
				return &fieldError{err: x.stopped()}
			}
			var e any
			if isLazy {
				var err error
				if scratch != nil {
					e, err = lazy.ItemInto(i, scratch)
				} else {
					e, err = lazy.Item(i)
				}
				if err != nil {
					return &fieldError{err: badResponse(f, "item %d: %s", i, err.Error())}
				}
			} else {
				e = list[i]
			}
			if i == streamFrom {
				// @stream: the fetches below the items past initialCount run apart (issue 17).
				todo, g, late = pending{}, f.Stream.group, todo
			}
			out[i] = x.buildIn(f, t.Elem, e, todo, items, g)
		}
		if late != nil {
			x.dispatch(todo)
		}
		return out
	}
	if f.Object == nil && f.ByType == nil {
		return v
	}
	if !isObject(v) {
		return &fieldError{err: badResponse(f, "expected an object, got %s", kindOf(v))}
	}
	sel := f.Object
	if sel == nil {
		name, err := x.concreteType(f, v)
		if err != nil {
			return &fieldError{err: err}
		}
		sel = f.ByType[name]
	}
	var o *object
	if n := len(sel.Fields); s != nil && len(s.objs) < cap(s.objs) && len(s.vals)+n <= cap(s.vals) {
		s.objs = append(s.objs, object{sel: sel, raw: v, values: s.vals[len(s.vals) : len(s.vals)+n : len(s.vals)+n], group: g})
		s.vals = s.vals[:len(s.vals)+n]
		o = &s.objs[len(s.objs)-1]
	} else {
		o = &object{sel: sel, raw: v, values: make([]any, n), group: g}
	}
	fetches := 0
	keysNow := true
	for _, sf := range sel.Fields {
		if sf.Kind == FieldFetch {
			todo[sf.Fetch] = append(todo[sf.Fetch], o)
			fetches++
			keysNow = keysNow && keyedAtBuild(sf)
			continue
		}
		x.fill(o, sf, todo)
	}
	if fetches > 0 && keysNow {
		// Every fetch of o is batched: its batch key is all it reads of o's backend object. Compute the keys now,
		// in the slots the fetches fill, and drop the object at once rather than when the fetches start.
		for _, sf := range sel.Fields {
			if sf.Kind != FieldFetch {
				continue
			}
			pk := x.parentKey(sf.Fetch, o.raw)
			if s != nil && len(s.keys) < cap(s.keys) {
				s.keys = append(s.keys, pk)
				o.values[sf.Index] = &s.keys[len(s.keys)-1]
			} else {
				boxed := pk
				o.values[sf.Index] = &boxed
			}
		}
		fetches = 0
	}
	if fetches == 0 {
		// Nothing reads the backend's object any more (the writer reads values): let it go before the response
		// is written (issue 13: memory per answer item).
		o.raw = nil
	}
	return o
}

// reusable reports whether nothing keeps an object of selection s once it is built: its fields read values out
// of it (not the object itself), and its fetches are batched without fallback, so their keys are computed when
// it is built (see buildIn).
func reusable(s *Selection) bool {
	for _, f := range s.Fields {
		switch f.Kind {
		case FieldTypename:
		case FieldFetch:
			if !keyedAtBuild(f) {
				return false
			}
		case FieldData:
			if f.Binding != nil && f.Binding.From != nil && len(f.Binding.From) == 0 {
				return false // reads the object itself
			}
		default:
			return false
		}
	}
	return true
}

// keyedAtBuild reports whether fetch field f reads nothing of a parent but its batch key, so that the key can be
// computed when the parent is built (see buildIn): its fetch is batched, and it has no fallback, whose
// variables would read the parent when the fetch fails.
func keyedAtBuild(f *Field) bool { return f.Fetch.Batched && f.Binding.Fallback == nil }

// parentKey is a parent's batch key for a fetch, computed when the parent was built; ok is false when the parent
// has none (nothing to fetch). It waits in the slot the fetch fills.
type parentKey struct {
	key resolvers.Key
	ok  bool
}

// soleFetch reports whether f is the only fetch of selection s and has no fallback: once f has read a parent's
// variables, nothing reads the parent's raw value again, and the fetch drops it.
func soleFetch(s *Selection, f *Fetch) bool {
	if f.Binding.Fallback != nil {
		return false
	}
	for _, sf := range s.Fields {
		if sf.Kind == FieldFetch && sf.Fetch != f {
			return false
		}
	}
	return true
}

// concreteType picks the object type of an abstract field's item: the item's __typename, else the binding's
// discriminator, else the only possible type.
func (x *execution) concreteType(f *Field, v any) (string, error) {
	m, _ := v.(map[string]any)
	if tn, ok := m["__typename"].(string); ok {
		if _, ok := f.ByType[tn]; ok {
			return tn, nil
		}
		if f.AnyType && tn == f.Def.Type.Name() {
			for name := range f.ByType {
				return name, nil
			}
		}
		return "", badResponse(f, "__typename %q is not a possible type of %s", tn, f.Def.Type.Name())
	}
	if f.Binding != nil && f.Binding.Discriminator != nil {
		d := f.Binding.Discriminator
		val := resolvers.Dig(v, d.Field)
		if name, ok := d.Types[resolvers.Text(val)]; ok {
			return name, nil
		}
		return "", badResponse(f, "discriminator value %q of %s matches no type in its mapping", resolvers.Text(val), f.Binding.Name())
	}
	if len(f.ByType) == 1 {
		for name := range f.ByType {
			return name, nil
		}
	}
	return "", badResponse(f, "cannot tell the type of an item of %s: the backend sends no __typename; add a discriminator to the binding", f.Def.Type.Name())
}

func badResponse(f *Field, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if f.Binding != nil && f.Binding.Source != "" {
		return &sources.Error{Source: f.Binding.Source, Code: sources.CodeBadResponse, Err: err}
	}
	return &codedError{code: sources.CodeBadResponse, err: err}
}

// codedError is a field error that did not come from a source call.
type codedError struct {
	code sources.Code
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }
