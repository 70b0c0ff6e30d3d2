package graph

import (
	"context"
	"sync"

	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/schema"
)

// fetcher runs the fetches of one kind of source. The planner attaches one to each Fetch (Fetch.fetcher, by
// newFetcher) and the executor calls only this interface, so that a new kind of source adds an implementation,
// not branches across the planner and the executor (issue 14). Implementations are immutable and shared by
// every request that runs the plan.
//
//   - per parent (perParent): one request per parent object, identical ones sent once, run in parallel;
//   - batched (batched): the keys of every parent of every fetch of one binding ready together, in one batch
//     loader flush;
//   - federated (*fedGroup, federation_exec.go): a group's subgraph calls, planned by federation_plan.go.
//
// perParent and batched leave the request itself to the source's kind: HTTP and static sources (httpKind,
// fetch_http.go) or upstream GraphQL with the client's selection forwarded (graphqlKind, fetch_graphql.go).
type fetcher interface {
	// prepare completes the fetch of f once the planner has planned f's sub-selection (e.g. the selection a
	// GraphQL fetch forwards). It runs once per plan.
	prepare(p *planner, f *Field) error
	// group returns what the executor groups fetches ready together by: the fetches of one group go to one call
	// of run, so that they can share requests.
	group(f *Fetch) any
	// run fetches the values of fetches (all of one group) for their parents (parents[i] are those of
	// fetches[i]), settles them in the parents, and dispatches the fetches below them (x.dispatch). The
	// operation has not stopped when it is called.
	//
	// run makes its own pending set and dispatches it itself: passed through this interface, the set would
	// escape to the heap, two allocations per run.
	run(x *execution, fetches []*Fetch, parents [][]*object)
	// describe names the request f sends, for Plan.String and Explain: its method (or "graphql", "federated")
	// and its path (or upstream call).
	describe(f *Fetch) (method, path string)
}

// kind builds and sends the requests of one kind of source, for the perParent and batched fetchers.
type kind interface {
	// prepare is fetcher.prepare.
	prepare(p *planner, f *Field) error
	// one fetches f's value for one parent, whose template variables are vs, with ctx (x.ctx, or the fetch's
	// span under it).
	one(ctx context.Context, x *execution, res *resolvers.Resolver, f *Fetch, vs resolvers.Vars) (any, error)
	// key renders a parent's batch key; ok is false when it has none.
	key(res *resolvers.Resolver, vs resolvers.Vars) (k resolvers.Key, ok bool)
	// loader returns the request's batch loader of f's parents, whose template variables (but the parent) are
	// vs.
	loader(x *execution, res *resolvers.Resolver, f *Fetch, vs resolvers.Vars) resolvers.Loader
	// describe is fetcher.describe.
	describe(f *Fetch) (method, path string)
}

var (
	_ fetcher = (*perParent)(nil)
	_ fetcher = (*batched)(nil)
	_ fetcher = (*fedGroup)(nil)
	_ kind    = httpKind{}
	_ kind    = graphqlKind{}
)

// newFetcher picks the fetcher of a new fetch f by its binding's source. byAlias reports that the objects it
// answers are keyed by the response keys the planner sent (an upstream GraphQL answer), not by field names. A
// fetch of a federated group gets its group as fetcher when the group is made (planner.federate and
// planner.entityGroup).
func (p *planner) newFetcher(f *Fetch) (ft fetcher, byAlias bool) {
	b := f.Binding
	src := p.sg.Sources[b.Source]
	graphql := src != nil && src.Kind == schema.KindGraphQL
	var k kind = httpKind{}
	if graphql && !b.Federated {
		k = graphqlKind{}
	}
	if f.Batched {
		return &batched{kind: k}, b.Federated || graphql
	}
	return &perParent{kind: k}, b.Federated || graphql
}

// perParent fetches one request per parent object.
type perParent struct{ kind kind }

// maxParallelPerFetch caps the concurrent requests of one unbatched fetch under a list (one per parent), so a
// long list cannot open thousands of connections at once.
const maxParallelPerFetch = 64

func (pp *perParent) prepare(p *planner, f *Field) error { return pp.kind.prepare(p, f) }

func (*perParent) group(f *Fetch) any { return f }

func (pp *perParent) describe(f *Fetch) (string, string) { return pp.kind.describe(f) }

func (pp *perParent) run(x *execution, fetches []*Fetch, parents [][]*object) {
	res := x.engine.resolvers.For(fetches[0].Binding)
	todo := pending{}
	for i, f := range fetches {
		pp.runOne(x, res, f, parents[i], todo)
	}
	x.dispatch(todo)
}

func (pp *perParent) runOne(x *execution, res *resolvers.Resolver, f *Fetch, parents []*object, todo pending) {
	args := x.fieldArgs(f.Field)
	ctx, span := x.startFetch(f, len(parents))
	// fetch runs on its own goroutine when there are several parents: a panic there would end the process, so
	// it becomes the parent's error.
	fetch := func(o *object) (v any, err error) {
		defer func() {
			if p := recover(); p != nil {
				v, err = nil, x.fetchPanicked(f, p)
			}
		}()
		if se := x.stopped(); se != nil {
			return nil, se
		}
		return pp.kind.one(ctx, x, res, f, res.Vars(args, o.raw, x.headers))
	}
	if len(parents) == 1 {
		v, err := fetch(parents[0])
		endSpan(span, err)
		x.settle(parents[0], f.Field, v, err, todo)
		return
	}
	// No batch: one request per parent (identical ones are sent once), run in parallel.
	results := make([]any, len(parents))
	errs := make([]error, len(parents))
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelPerFetch)
	for i, o := range parents {
		select {
		case sem <- struct{}{}:
		case <-x.ctx.Done():
			errs[i] = x.stopped()
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], errs[i] = fetch(o)
		}()
	}
	wg.Wait()
	if span != nil {
		var failed error
		for _, err := range errs {
			if err != nil {
				failed = err
				break
			}
		}
		endSpan(span, failed)
	}
	release := false
	var sel *Selection
	for i, o := range parents {
		x.settle(o, f.Field, results[i], errs[i], todo)
		if o.sel != sel {
			sel = o.sel
			release = soleFetch(sel, f)
		}
		if release {
			o.raw = nil
		}
	}
}

// batched fetches the values of every parent of the fetches of one binding ready together in batch calls.
type batched struct{ kind kind }

func (bt *batched) prepare(p *planner, f *Field) error { return bt.kind.prepare(p, f) }

// group is the binding: its fetches on every path ready together share one batch (issue 14).
func (*batched) group(f *Fetch) any { return f.Binding }

func (bt *batched) describe(f *Fetch) (string, string) { return bt.kind.describe(f) }

func (bt *batched) run(x *execution, fetches []*Fetch, parents [][]*object) {
	res := x.engine.resolvers.For(fetches[0].Binding)
	todo := pending{}
	type load struct {
		fetch  *Fetch
		objs   []*object
		values []resolvers.Pending
	}
	loads := make([]load, 0, len(fetches))
	// Load every key of every fetch — the loaders group them by batch request (args may differ) — then Flush
	// once, so that the paths of one binding ready together share one batch call (issue 14), and only then
	// wait. The deferred Flush sends what a panic would leave staged, for the fetches that share those keys.
	batch := x.loaders.Batch()
	defer batch.Flush()
	// One span for the group's batch calls; its context reaches the batch function (the first Load's ctx).
	ctx, span := x.startFetch(fetches[0], 0)
	size := 0
	var failed error
	defer func() { endSpan(span, failed) }()
	for i, f := range fetches {
		args := x.fieldArgs(f.Field)
		vs := res.Vars(args, nil, x.headers)
		keys := make([]resolvers.Key, 0, len(parents[i]))
		objs := make([]*object, 0, len(parents[i]))
		var sel *Selection
		release := false
		for _, o := range parents[i] {
			var k resolvers.Key
			var ok bool
			if pk, early := o.values[f.Field.Index].(*parentKey); early {
				k, ok = pk.key, pk.ok
			} else {
				k, ok = bt.kind.key(res, res.Vars(args, o.raw, x.headers))
			}
			if o.sel != sel {
				sel = o.sel
				release = soleFetch(sel, f)
			}
			if release {
				o.raw = nil
			}
			if !ok {
				// A parent without a key has nothing to fetch: null, or [] for a list.
				var none any
				if f.Field.Def.Type.Elem != nil {
					none = []any{}
				}
				x.settle(o, f.Field, none, nil, todo)
				continue
			}
			keys = append(keys, k)
			objs = append(objs, o)
		}
		if len(keys) == 0 {
			continue
		}
		size += len(keys)
		loads = append(loads, load{fetch: f, objs: objs, values: batch.Stage(ctx, bt.kind.loader(x, res, f, vs), keys)})
	}
	if span != nil {
		span.SetAttributes(attrBatchSize.Int(size))
	}
	batch.Flush()
	for _, l := range loads {
		f := l.fetch.Field
		for j, o := range l.objs {
			p := l.values[j]
			if b, ok := p.Built(f); ok {
				o.values[f.Index] = b
				continue
			}
			v, err := p.Wait(x.ctx)
			if err != nil && failed == nil {
				failed = err
			}
			if _, fwd := v.(*resolvers.ForwardResult); err != nil || fwd {
				x.settle(o, f, v, err, todo)
				continue
			}
			// Parents with the same key share the value built for the first when nothing below it is fetched
			// (it is immutable then; the writer writes it at each path).
			below := pending{}
			b := x.build(o, f, v, below)
			o.values[f.Index] = b
			if len(below) == 0 {
				p.Keep(f, b)
			}
			for bf, objs := range below {
				todo[bf] = append(todo[bf], objs...)
			}
		}
	}
	x.dispatch(todo)
}

// parentKey computes a parent's batch key for fetch f, whose fetcher is batched, from its raw object (see
// buildIn).
func (x *execution) parentKey(f *Fetch, raw any) parentKey {
	// The slot then holds a *parentKey: a pointer costs no allocation to store in an interface.
	res := x.engine.resolvers.For(f.Binding)
	k, ok := f.fetcher.(*batched).kind.key(res, res.Vars(x.fieldArgs(f.Field), raw, x.headers))
	return parentKey{key: k, ok: ok}
}
