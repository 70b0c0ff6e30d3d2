package resolvers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"github.com/graph-gophers/dataloader/v7"
)

// Key is one parent's batch key: its canonical text (keys compare by value, so 1 and "1" are the same key) and
// the value sent to the backend.
type Key struct {
	Canon string
	Value any
}

// Key renders the batch key of the parent in vs; ok is false when a key part is absent or null, in which case
// the parent has no value to fetch.
func (r *Resolver) Key(vs Vars) (k Key, ok bool) {
	parts := r.Binding.Batch.Key
	if len(parts) == 1 {
		v, ok := keyPart(parts[0], &vs)
		if !ok {
			return Key{}, false
		}
		return Key{Canon: canon(v), Value: v}, true
	}
	vals := make([]any, len(parts))
	canons := make([]string, len(parts))
	for i, t := range parts {
		v, ok := keyPart(t, &vs)
		if !ok {
			return Key{}, false
		}
		vals[i], canons[i] = v, canon(v)
	}
	return Key{Canon: strings.Join(canons, "\x1f"), Value: vals}, true
}

func keyPart(t *schema.Template, vs *Vars) (any, bool) {
	if one := t.Single(); one != nil {
		v, ok := vs.lookup(one)
		if !ok {
			return nil, false
		}
		switch v.(type) {
		case map[string]any, []any:
			return Text(v), true
		}
		return v, true
	}
	return renderText(t, vs), true
}

// canon is the comparable text of a key value: numbers in shortest form, so that 1, 1.0 and "1" agree.
func canon(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		if plainInt(string(t)) {
			return string(t) // already in shortest form: no conversion, no allocation
		}
		if i, err := t.Int64(); err == nil {
			return strconv.FormatInt(i, 10)
		}
		if f, err := t.Float64(); err == nil {
			return Text(f)
		}
		return t.String()
	}
	return Text(v)
}

// plainInt reports whether s is an integer as strconv.FormatInt writes it (no sign but '-', no leading zero, not
// "-0"), short enough to fit an int64.
func plainInt(s string) bool {
	n := len(s)
	if n == 0 || n > 18 {
		return false
	}
	i := 0
	if s[0] == '-' {
		i = 1
	}
	if i == n || s[i] == '0' {
		return n == 1 && i == 0
	}
	for ; i < n; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Loaders holds one client request's batch loaders and its memo of unbatched requests. Create one per client
// request with NewLoaders; it is safe for concurrent use by that request's fetches and is dropped with it. Each
// batch call runs on the batch goroutine of a dataloader.Loader (which also starts a timer goroutine that
// returns at the flush's last Load); the call ends when the source returns, which it does when its ctx ends.
// The request's owner waits with Wait, before it returns, until every batch goroutine has done its last work
// (issue 13: no goroutine outlives a request).
type Loaders struct {
	// MaxCalls caps the upstream calls started through these loaders (each batch call and each unbatched call
	// actually sent, after deduplication, counts one); 0 means no cap. Set it before the first use.
	MaxCalls int64
	started  atomic.Int64

	mu      sync.Mutex
	batches map[string]*batchLoader
	calls   map[string]*call
	wg      sync.WaitGroup // one per flush whose batch has not ended
}

// ErrCallLimit is the error of a call refused because the request has started Loaders.MaxCalls calls already.
var ErrCallLimit = errors.New("the operation made too many upstream requests")

// NewLoaders returns empty loaders for one client request.
func NewLoaders() *Loaders {
	return &Loaders{batches: map[string]*batchLoader{}, calls: map[string]*call{}}
}

// Start counts one upstream call about to be sent for this client request. It returns ErrCallLimit, and the
// call must not be sent, when MaxCalls calls have been started already.
func (l *Loaders) Start() error {
	if n := l.started.Add(1); l.MaxCalls > 0 && n > l.MaxCalls {
		return ErrCallLimit
	}
	return nil
}

// Wait blocks until the batch of every flush (Batch.Flush, Load, LoadGraphQL) has ended: its BatchFunc has
// returned and the dataloader has handed out its results. Cancel the ctx given to them first to make it quick.
func (l *Loaders) Wait() { l.wg.Wait() }

// Batch collects the keys that fetches ready at the same time — the fetches of one binding that one parent
// fetch hands out, on any number of paths — give the batch loaders of a client request, and sends them with
// Flush: one flush per loader, so parents on several paths share one batch call (issue 14). Load (and
// LoadGraphQL) every key of every such fetch, then Flush once, then Wait for the values.
//
// A key that Load takes is promised to every fetch of the client request that loads it until Flush sends it:
// the owner must call Flush (a deferred Flush covers a panic), or their waits end only with their ctx. A Batch
// is used by one goroutine; Flush resets it for reuse.
type Batch struct {
	l      *Loaders
	staged []stage
}

// stage is one loader's keys in a Batch that Flush has not sent yet.
type stage struct {
	bl *batchLoader
	// ctx is the ctx of the loader's first Load in the Batch: the dataloader hands it to the BatchFunc.
	ctx     context.Context
	fl      *flight
	fresh   []Key
	results []*result
}

// Batch returns an empty Batch of these loaders.
func (l *Loaders) Batch() *Batch { return &Batch{l: l} }

// Flush sends what b's Loads staged: one flush per loader that got keys not loaded before, started at once.
func (b *Batch) Flush() {
	staged := b.staged
	b.staged = nil
	for i := range staged {
		staged[i].bl.flush(&staged[i])
	}
}

// A Loader is one batch loader of a client request, which Batch.Stage hands keys to. Loaders.Loader (HTTP and
// static bindings) and Loaders.GraphQLLoader return them, made on first use.
type Loader struct{ bl *batchLoader }

// Stage hands the keys of some parents to ld: every key not loaded before in this client request is fetched by
// the loader's next flush (Flush), each distinct key once, by a BatchFunc that starts with the ctx of the
// loader's first Stage in b. It returns one Pending per key, in order; wait for them only after Flush.
func (b *Batch) Stage(ctx context.Context, ld Loader, keys []Key) []Pending {
	return b.stage(ctx, ld.bl, keys)
}

func (b *Batch) stage(ctx context.Context, bl *batchLoader, keys []Key) []Pending {
	var st *stage
	for i := range b.staged {
		if b.staged[i].bl == bl {
			st = &b.staged[i]
			break
		}
	}
	if st == nil {
		b.staged = append(b.staged, stage{bl: bl, ctx: ctx, fl: &flight{done: make(chan struct{}), source: bl.r.Binding.Source}})
		st = &b.staged[len(b.staged)-1]
	}
	return bl.load(st, keys)
}

// loader returns the batch loader id names, made for r and vs on first use, with the batch call newCall
// returns.
func (l *Loaders) loader(id string, r *Resolver, vs Vars, newCall func() batchCall) *batchLoader {
	l.mu.Lock()
	defer l.mu.Unlock()
	bl, ok := l.batches[id]
	if !ok {
		bl = newBatchLoader(l, r, vs, newCall())
		l.batches[id] = bl
	}
	return bl
}

// loaderID renders what, besides the keys, the batch request depends on.
func loaderID(bt *schema.Batch, vs *Vars) string {
	var b strings.Builder
	for _, t := range bt.Request.Templates() {
		for _, v := range t.Vars() {
			if v.Scope == schema.ScopeKeys {
				continue
			}
			val, _ := vs.lookup(&v)
			b.WriteString(Text(val))
			b.WriteByte(0x1f)
		}
	}
	return b.String()
}

// batchLoader is one (binding, client request) loader. Each flush of a Batch with keys not seen before is one
// batch: a fresh dataloader.Loader whose batch capacity is exactly the number of new keys gets one Load per key,
// so the last Load dispatches the batch at once, with no wait window, and its BatchFunc (run on the
// dataloader's goroutine, with the first Load's ctx) makes the batch call, split by maxSize. known memoizes
// every key ever loaded (sent, or staged in a Batch not flushed yet), so a key is fetched once per client
// request whichever path asks for it; the dataloader itself keeps no cache.
type batchLoader struct {
	l  *Loaders
	r  *Resolver
	vs Vars

	// call makes the batch calls, in the way of the binding's source kind.
	call batchCall

	mu    sync.Mutex
	known map[string]*result

	// batchDone is the finish func of each batch's trace (see tracer): it tells l.Wait the batch has ended.
	batchDone dataloader.TraceBatchFinishFunc[any]
}

func newBatchLoader(l *Loaders, r *Resolver, vs Vars, call batchCall) *batchLoader {
	return &batchLoader{l: l, r: r, vs: vs, call: call, known: map[string]*result{},
		batchDone: func([]*dataloader.Result[any]) { l.wg.Done() }}
}

// batchCall makes the batch calls of one loader in the way of its binding's source kind (httpBatchCall,
// graphqlBatchCall): one call for keys, on the batch's goroutine, with the loader's resolver r and variables
// vs. It stores each key's value in out (same order), or returns the error that fails them all.
type batchCall interface {
	call(ctx context.Context, r *Resolver, vs Vars, keys []Key, out []*result) error
}

// flight is one flush's batch call; done closes when its BatchFunc has set every result of its keys.
type flight struct {
	done   chan struct{}
	source string
}

// result is one key's value, written by its flight's BatchFunc before the flight's done closes. The BatchFunc
// also hands it to the dataloader as the key's Result, so the dataloader's thunk would read the same value.
type result struct {
	fl *flight
	dataloader.Result[any]
	// built is what the engine made of the value for one field (see Pending.Keep).
	built atomic.Pointer[built]
}

type built struct{ key, value any }

// Pending is one key's value of a batched fetch: Wait for it. Parents with the same key get equal Pendings.
type Pending struct {
	res *result
}

// Keep records value as what the caller built from p's value for key (e.g. a field of the plan), so that the
// next parent with the same key can take it with Built instead of building it again: a response where many
// parents share few keys then holds one copy per key (issue 13: memory per answer item). The first kept wins;
// the caller must keep only values it never changes. Safe for concurrent use.
func (p Pending) Keep(key, value any) {
	p.res.built.CompareAndSwap(nil, &built{key: key, value: value})
}

// Built returns the value kept for key by Keep.
func (p Pending) Built(key any) (any, bool) {
	if b := p.res.built.Load(); b != nil && b.key == key {
		return b.value, true
	}
	return nil, false
}

// Wait returns the key's value once its batch call has returned, or an UPSTREAM_TIMEOUT error as soon as ctx
// ends. It reads the value the flush's BatchFunc stored rather than the dataloader's thunk, which cannot be
// abandoned when ctx ends.
func (p Pending) Wait(ctx context.Context) (any, error) {
	select {
	case <-p.res.fl.done:
		return p.res.Data, p.res.Error
	default:
	}
	select {
	case <-p.res.fl.done:
		return p.res.Data, p.res.Error
	case <-ctx.Done():
		return nil, &sources.Error{Source: p.res.fl.source, Code: sources.CodeTimeout, Err: ctx.Err()}
	}
}

// noCache is the dataloaders' cache: known is the memo, and each dataloader serves one flush of distinct keys.
var noCache = &dataloader.NoCache[int, any]{}

// tracer is the dataloaders' Tracer. It traces nothing (like dataloader.NoopTracer, without that tracer's
// allocation per Load) but ends each batch for Loaders.Wait: the dataloader calls the finish func TraceBatch
// returns as the last thing its batch goroutine does, after the BatchFunc has returned and the results have been
// handed to the thunks' channels.
type tracer struct{ bl *batchLoader }

func (tracer) TraceLoad(ctx context.Context, _ int) (context.Context, dataloader.TraceLoadFinishFunc[any]) {
	return ctx, noTraceLoad
}

func (tracer) TraceLoadMany(ctx context.Context, _ []int) (context.Context, dataloader.TraceLoadManyFinishFunc[any]) {
	return ctx, noTraceLoadMany
}

func (t tracer) TraceBatch(ctx context.Context, _ []int) (context.Context, dataloader.TraceBatchFinishFunc[any]) {
	return ctx, t.bl.batchDone
}

var (
	noTraceLoad     = func(dataloader.Thunk[any]) {}
	noTraceLoadMany = func(dataloader.ThunkMany[any]) {}
)

// noWindow is the dataloaders' wait window: long enough never to end a batch, which its capacity dispatches.
const noWindow = time.Duration(math.MaxInt64)

// load takes the keys not loaded before into st, for its flight, and returns one Pending per key.
func (bl *batchLoader) load(st *stage, keys []Key) []Pending {
	out := make([]Pending, len(keys))
	bl.mu.Lock()
	defer bl.mu.Unlock()
	for i, k := range keys {
		res, ok := bl.known[k.Canon]
		if !ok {
			if st.fresh == nil {
				// At most the keys left are new, but many parents may share a key: start small, not at len(keys).
				n := min(len(keys)-i, 64)
				st.fresh, st.results = make([]Key, 0, n), make([]*result, 0, n)
			}
			res = &result{fl: st.fl}
			bl.known[k.Canon] = res
			st.fresh = append(st.fresh, k)
			st.results = append(st.results, res)
		}
		out[i] = Pending{res: res}
	}
	return out
}

// flush dispatches the keys st took as one batch.
func (bl *batchLoader) flush(st *stage) {
	if len(st.fresh) == 0 {
		return // nothing refers to st.fl
	}
	fresh := st.fresh
	// The dataloader's key is the index of a new key in fresh. Its capacity makes the last Load dispatch all of
	// them as one batch: one BatchFunc call per flush, and one batch end for Wait (hence Add before the Loads).
	dl := dataloader.NewBatchedLoader(bl.batchFunc(st.fl, fresh, st.results),
		dataloader.WithBatchCapacity[int, any](len(fresh)),
		dataloader.WithInputCapacity[int, any](len(fresh)),
		dataloader.WithWait[int, any](noWindow),
		dataloader.WithCache[int, any](noCache),
		dataloader.WithTracer[int, any](tracer{bl}))
	bl.l.wg.Add(1) // Done by the batch's end (tracer)
	for i := range fresh {
		dl.Load(st.ctx, i) // the thunk is not kept: Pending.Wait reads the result the BatchFunc stores
	}
}

// batchFunc is the BatchFunc of one flush of the keys fresh, whose values go to results (same order). It
// fetches them, then closes fl.done, however the fetch ends.
func (bl *batchLoader) batchFunc(fl *flight, fresh []Key, results []*result) dataloader.BatchFunc[int, any] {
	return func(ctx context.Context, idx []int) []*dataloader.Result[any] {
		defer close(fl.done)
		// idx is 0…len(fresh)-1 in order: the capacity dispatched every Load of the flush in one batch.
		bl.fetch(ctx, fresh, results)
		out := make([]*dataloader.Result[any], len(idx))
		for j, i := range idx {
			out[j] = &results[i].Result
		}
		return out
	}
}

// fetch fetches the values of keys into results, splitting them into calls of at most maxSize keys run in
// parallel.
func (bl *batchLoader) fetch(ctx context.Context, keys []Key, results []*result) {
	size := bl.r.Binding.Batch.MaxSize
	if size <= 0 || size >= len(keys) {
		// One call: made on this goroutine, without starting another and waiting for it.
		bl.fetchChunk(ctx, keys, results)
		return
	}
	var wg sync.WaitGroup
	for start := 0; start < len(keys); start += size {
		end := min(start+size, len(keys))
		wg.Add(1)
		go func(chunk []Key, out []*result) {
			defer wg.Done()
			bl.fetchChunk(ctx, chunk, out)
		}(keys[start:end], results[start:end])
	}
	// The chunks' calls end with ctx, as every source call does.
	wg.Wait()
}

func (bl *batchLoader) fetchChunk(ctx context.Context, keys []Key, out []*result) {
	fail := func(err error) {
		for _, r := range out {
			r.Data, r.Error = nil, err
		}
	}
	defer func() {
		if p := recover(); p != nil {
			// The panic's value and stack go to the log; the client learns only which field failed, as for a
			// panic in an unbatched fetch (graph's fetchPanicked).
			bl.r.logger().ErrorContext(ctx, "panic in batch", "binding", bl.r.Binding.Name(), "panic", p, "stack", string(debug.Stack()))
			fail(fmt.Errorf("internal error while resolving %s", bl.r.Binding.Name()))
		}
	}()
	if err := ctx.Err(); err != nil {
		fail(&sources.Error{Source: bl.r.Binding.Source, Code: sources.CodeTimeout, Err: err})
		return
	}
	if err := bl.l.Start(); err != nil {
		fail(err)
		return
	}
	if err := bl.call.call(ctx, bl.r, bl.vs, keys, out); err != nil {
		fail(err)
	}
}
