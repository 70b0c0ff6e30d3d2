package resolvers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"github.com/graph-gophers/dataloader/v7"
)

// Thunk waits for one parent's value of a batched fetch.
type Thunk func() (any, error)

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
	return renderText(t, vs, identity), true
}

// canon is the comparable text of a key value: numbers in shortest form, so that 1, 1.0 and "1" agree.
func canon(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
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

// Loaders holds one client request's batch loaders and its memo of unbatched requests. Create one per client
// request with NewLoaders; it is safe for concurrent use by that request's fetches and is dropped with it.
type Loaders struct {
	mu      sync.Mutex
	batches map[string]*batchLoader
	calls   map[string]*call
}

type call struct {
	done chan struct{}
	val  any
	err  error
}

// NewLoaders returns empty loaders for one client request.
func NewLoaders() *Loaders {
	return &Loaders{batches: map[string]*batchLoader{}, calls: map[string]*call{}}
}

// Fetch sends r's unbatched request for vs. Identical idempotent requests within this client request are sent
// once and share the answer.
func (l *Loaders) Fetch(ctx context.Context, r *Resolver, vs Vars) (any, error) {
	req, err := r.Build(vs, false)
	if err != nil {
		return nil, err
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return r.Do(ctx, req, false)
	}
	key := r.Binding.Name() + "\x00" + sources.RequestKey(req.Method, req)
	l.mu.Lock()
	c, ok := l.calls[key]
	if !ok {
		c = &call{done: make(chan struct{})}
		l.calls[key] = c
	}
	l.mu.Unlock()
	if !ok {
		c.val, c.err = r.Do(ctx, req, false)
		close(c.done)
		return c.val, c.err
	}
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		return nil, &sources.Error{Source: r.Binding.Source, Code: sources.CodeTimeout, Err: ctx.Err()}
	}
}

// Load hands the keys of some parents to r's batch loader for this client request and flushes it at once:
// every key not loaded before is fetched in one batch (split by maxSize), each distinct key once. It returns
// one thunk per key, in order. Parents whose batch request renders differently (other args or headers) go to
// different loaders.
func (l *Loaders) Load(ctx context.Context, r *Resolver, vs Vars, keys []Key) []Thunk {
	id := r.Binding.Name() + "\x00" + loaderID(r.Binding.Batch, &vs)
	l.mu.Lock()
	bl, ok := l.batches[id]
	if !ok {
		bl = &batchLoader{r: r, vs: vs, thunks: map[string]dataloader.Thunk[any]{}}
		l.batches[id] = bl
	}
	l.mu.Unlock()
	return bl.load(ctx, keys)
}

// LoadGraphQL is Load for a graphql binding: the batch forwards fw, so fetches with different selections (or
// client variables) go to different loaders. Each thunk's value is a *ForwardResult.
func (l *Loaders) LoadGraphQL(ctx context.Context, r *Resolver, vs Vars, fw *Forward, clientVars map[string]any, keys []Key) []Thunk {
	var id strings.Builder
	id.WriteString(r.Binding.Name() + "\x00" + fw.Selection + "\x00" + loaderID(r.Binding.Batch, &vs))
	for _, v := range fw.Variables {
		b, _ := json.Marshal(clientVars[v.Name])
		id.Write(b)
		id.WriteByte(0x1f)
	}
	for _, a := range r.Binding.Batch.Args {
		for _, t := range a.Value.Templates() {
			for _, v := range t.Vars() {
				if v.Scope != schema.ScopeKeys {
					val, _ := vs.lookup(&v)
					id.WriteString(Text(val))
					id.WriteByte(0x1f)
				}
			}
		}
	}
	l.mu.Lock()
	bl, ok := l.batches[id.String()]
	if !ok {
		bl = &batchLoader{r: r, vs: vs, thunks: map[string]dataloader.Thunk[any]{}, fw: fw, clientVars: clientVars}
		l.batches[id.String()] = bl
	}
	l.mu.Unlock()
	return bl.load(ctx, keys)
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

// batchLoader is one (binding, client request) loader. The dataloader v7.1.0 release has no Flush, so each
// flush is a fresh dataloader.Loader whose batch capacity is exactly the number of new keys: the last Load
// dispatches the batch, with no wait window. thunks memoizes every key ever loaded, so a key is fetched once per
// client request whichever path asks for it.
type batchLoader struct {
	r  *Resolver
	vs Vars

	// fw and clientVars are set for a graphql binding's loader.
	fw         *Forward
	clientVars map[string]any

	mu     sync.Mutex
	thunks map[string]dataloader.Thunk[any]
}

func (bl *batchLoader) load(ctx context.Context, keys []Key) []Thunk {
	out := make([]Thunk, len(keys))
	bl.mu.Lock()
	var fresh []Key
	seen := map[string]bool{}
	for _, k := range keys {
		if _, ok := bl.thunks[k.Canon]; !ok && !seen[k.Canon] {
			seen[k.Canon] = true
			fresh = append(fresh, k)
		}
	}
	if len(fresh) > 0 {
		values := make(map[string]any, len(fresh))
		for _, k := range fresh {
			values[k.Canon] = k.Value
		}
		dl := dataloader.NewBatchedLoader(bl.batchFunc(values),
			dataloader.WithBatchCapacity[string, any](len(fresh)),
			dataloader.WithInputCapacity[string, any](len(fresh)),
			// The capacity dispatches the batch; the wait only bounds a loader that could not fill it.
			dataloader.WithWait[string, any](time.Minute))
		for _, k := range fresh {
			bl.thunks[k.Canon] = dl.Load(ctx, k.Canon)
		}
	}
	for i, k := range keys {
		t := bl.thunks[k.Canon]
		out[i] = Thunk(t)
	}
	bl.mu.Unlock()
	return out
}

// batchFunc fetches values for keys, splitting them into calls of at most maxSize keys run in parallel.
func (bl *batchLoader) batchFunc(values map[string]any) dataloader.BatchFunc[string, any] {
	return func(ctx context.Context, canons []string) []*dataloader.Result[any] {
		results := make([]*dataloader.Result[any], len(canons))
		size := bl.r.Binding.Batch.MaxSize
		if size <= 0 || size >= len(canons) {
			// One call: made on this goroutine, without starting another and waiting for it.
			bl.fetchChunk(ctx, canons, values, results)
			return results
		}
		var wg sync.WaitGroup
		for start := 0; start < len(canons); start += size {
			end := min(start+size, len(canons))
			wg.Add(1)
			go func(chunk []string, out []*dataloader.Result[any]) {
				defer wg.Done()
				bl.fetchChunk(ctx, chunk, values, out)
			}(canons[start:end], results[start:end])
		}
		wg.Wait()
		return results
	}
}

func (bl *batchLoader) fetchChunk(ctx context.Context, canons []string, values map[string]any, out []*dataloader.Result[any]) {
	fail := func(err error) {
		for i := range out {
			out[i] = &dataloader.Result[any]{Error: err}
		}
	}
	defer func() {
		if p := recover(); p != nil {
			fail(fmt.Errorf("batch %s panicked: %v", bl.r.Binding.Name(), p))
		}
	}()
	if bl.fw != nil {
		keys := make([]Key, len(canons))
		for i, c := range canons {
			keys[i] = Key{Canon: c, Value: values[c]}
		}
		results, err := bl.r.graphqlBatch(ctx, bl.vs, bl.fw, bl.clientVars, keys)
		if err != nil {
			fail(err)
			return
		}
		for i := range out {
			out[i] = &dataloader.Result[any]{Data: results[i]}
		}
		return
	}
	vs := bl.vs
	vs.Keys = make([]any, len(canons))
	for i, c := range canons {
		vs.Keys[i] = values[c]
	}
	req, err := bl.r.Build(vs, true)
	if err != nil {
		fail(err)
		return
	}
	v, err := bl.r.Do(ctx, req, true)
	if err != nil {
		fail(err)
		return
	}
	vals, err := bl.r.Match(canons, v)
	if err != nil {
		fail(&sources.Error{Source: bl.r.Binding.Source, Code: sources.CodeBadResponse, Method: req.Method, Path: req.Path, Err: err})
		return
	}
	for i := range out {
		out[i] = &dataloader.Result[any]{Data: vals[i]}
	}
}

// Match hands the items of a batch answer to the keys (canonical forms, in request order). With match fields,
// every item whose fields equal a key belongs to it, in response order: a list field gets all of them ([] for
// none), a single field the first (nil for none). Without, the i-th item belongs to the i-th key.
func (r *Resolver) Match(keys []string, answer any) ([]any, error) {
	var items []any
	switch t := answer.(type) {
	case nil:
	case []any:
		items = t
	default:
		return nil, fmt.Errorf("batch answer of %s is not a list: use batch.select to point at the list", r.Binding.Name())
	}
	out := make([]any, len(keys))
	match := r.Binding.Batch.Match
	if match == nil {
		for i := range keys {
			if i < len(items) {
				out[i] = items[i]
			}
			if r.List && out[i] == nil {
				out[i] = []any{}
			}
		}
		return out, nil
	}
	index := make(map[string][]any, len(keys))
	parts := make([]string, len(match))
	for _, item := range items {
		ok := true
		for i, m := range match {
			v := Dig(item, m)
			if v == nil {
				ok = false
				break
			}
			parts[i] = canon(v)
		}
		if !ok {
			continue
		}
		c := parts[0]
		if len(parts) > 1 {
			c = strings.Join(parts, "\x1f")
		}
		index[c] = append(index[c], item)
	}
	for i, k := range keys {
		got := index[k]
		switch {
		case r.List && got == nil:
			out[i] = []any{}
		case r.List:
			out[i] = got
		case len(got) > 0:
			out[i] = got[0]
		}
	}
	return out, nil
}
