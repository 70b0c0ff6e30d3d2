package resolvers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/conflux-gql/conflux/respcache"
	"github.com/conflux-gql/conflux/sources"
	"golang.org/x/net/http/httpguts"
)

// Build renders the binding's request (the batch request when batch is true) from vs.
func (r *Resolver) Build(vs Vars, batch bool) (*sources.Request, error) {
	req := &r.Binding.Request
	if batch {
		req = &r.Binding.Batch.Request
	}
	out := &sources.Request{Method: req.Method, Timeout: r.Binding.Timeout, RetrySafe: r.Binding.RetrySafe}
	if out.Method == "" {
		out.Method = http.MethodGet
	}
	if req.Path != nil {
		p, err := renderPath(req.Path, &vs, r.Binding.Name())
		if err != nil {
			return nil, err
		}
		out.Path = p
	}
	if len(req.Query) > 0 {
		out.Query = url.Values{}
		for _, p := range req.Query {
			if vals := renderParam(p, &vs); len(vals) > 0 {
				out.Query[p.Name] = vals
			}
		}
	}
	out.Header = r.forwardHeaders(vs.Headers, nil)
	if len(req.Headers) > 0 {
		if out.Header == nil {
			out.Header = http.Header{}
		}
		for _, p := range req.Headers {
			for _, v := range renderParam(p, &vs) {
				// A value a header cannot carry (a control character from the client's input) is the client's
				// error, refused here rather than sent, or stripped into another value (issue 13).
				if !httpguts.ValidHeaderFieldValue(v) {
					return nil, &InputError{Binding: r.Binding.Name(),
						Msg: "header " + p.Name + " would carry a control character, which a header cannot"}
				}
				out.Header.Add(p.Name, v)
			}
		}
	}
	if fields := multipartFields(req.Body); fields != nil {
		if out.Method == http.MethodGet || out.Method == http.MethodHead {
			return nil, &InputError{Binding: r.Binding.Name(), Msg: "a multipart body needs a method such as POST, not " + out.Method}
		}
		return out, renderMultipart(out, fields, &vs)
	}
	if req.Body != nil {
		body, err := renderBody(req.Body, &vs)
		if err != nil {
			return nil, err
		}
		out.Body = body
	}
	return out, nil
}

// Do sends a rendered request and returns the decoded answer after select. An unbatched request goes through
// the response cache (cache.go); a batch request is cached per key by its batch call.
func (r *Resolver) Do(ctx context.Context, req *sources.Request, batch bool) (any, error) {
	var v any
	var err error
	if batch {
		v, err = r.send(ctx, req, decodeJSON)
	} else {
		v, err = r.sendCached(ctx, req, decodeJSON)
	}
	if err != nil {
		return nil, err
	}
	sel := r.Binding.Select
	if batch {
		sel = r.Binding.Batch.Select
	}
	return Dig(v, sel), nil
}

// send sends req and decodes the answer's body with decode; an answer it cannot decode is BAD_UPSTREAM_RESPONSE.
func (r *Resolver) send(ctx context.Context, req *sources.Request, decode func([]byte) (any, error)) (any, error) {
	resp, err := r.Source.Do(ctx, req)
	if err != nil {
		return nil, sources.AsError(r.Binding.Source, err)
	}
	v, err := decode(resp.Body)
	if err != nil {
		return nil, &sources.Error{Source: r.Binding.Source, Code: sources.CodeBadResponse, Status: resp.Status,
			Method: req.Method, Path: req.Path, Err: err}
	}
	return v, nil
}

// Fetch renders, sends and decodes the single (unbatched) request for vs.
func (r *Resolver) Fetch(ctx context.Context, vs Vars) (any, error) {
	req, err := r.Build(vs, false)
	if err != nil {
		return nil, err
	}
	return r.Do(ctx, req, false)
}

// errCallPanicked is the error of the callers that waited for an identical call which panicked.
var errCallPanicked = errors.New("the upstream request failed with an internal error")

// memoMaxItems is the length past which an unbatched list answer is shared only with the identical requests in
// flight with it, not memoized for the rest of the client request: its bytes would otherwise stay alive until
// the response is written (issue 13).
const memoMaxItems = 1000

type call struct {
	done chan struct{}
	val  any
	err  error
}

// Fetch sends r's unbatched request for vs. Identical idempotent requests within this client request are sent
// once and share the answer. Waiting for another caller's answer ends with ctx.
func (l *Loaders) Fetch(ctx context.Context, r *Resolver, vs Vars) (any, error) {
	req, err := r.Build(vs, false)
	if err != nil {
		return nil, err
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		if err := l.Start(); err != nil {
			return nil, err
		}
		return r.do(ctx, req)
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
		// The callers waiting for c get an answer however the call ends: a panic goes on up this caller's stack,
		// and they get errCallPanicked.
		c.err = errCallPanicked
		defer close(c.done)
		val, err := any(nil), l.Start()
		if err == nil {
			val, err = r.do(ctx, req)
		}
		c.val, c.err = val, err
		if items, lazy := val.(*Items); lazy && items.Len() > memoMaxItems {
			l.mu.Lock()
			delete(l.calls, key)
			l.mu.Unlock()
		}
		return val, err
	}
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		return nil, &sources.Error{Source: r.Binding.Source, Code: sources.CodeTimeout, Err: ctx.Err()}
	}
}

// do is Do for an unbatched request. The answer of a list field without select that is a long JSON array comes
// back as *Items, whose items are decoded as they are read.
func (r *Resolver) do(ctx context.Context, req *sources.Request) (any, error) {
	if !r.List || r.GraphQL || len(r.Binding.Select) > 0 {
		return r.Do(ctx, req, false)
	}
	return r.sendCached(ctx, req, decodeList)
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

// httpBatchCall makes the batch calls of an HTTP or static binding: its batch request with the keys, and the
// items of the answer matched back to them (Match).
type httpBatchCall struct{}

func newHTTPBatchCall() batchCall { return httpBatchCall{} }

func (httpBatchCall) call(ctx context.Context, r *Resolver, vs Vars, keys []Key, out []*result) error {
	col := respcache.FromContext(ctx)
	// With cache, each key is looked up first under the key of the single-key request the batch stands for
	// (batchKeyReq); only the keys missed are asked of the backend (issue 15).
	var partKeys []string
	var mark respcache.Mark
	if r.cache != nil {
		mark = r.cache.Mark() // before the lookups: a purge from here on makes what is fetched stale
		var err error
		if keys, out, partKeys, err = r.batchHits(ctx, col, vs, keys, out); err != nil {
			return err
		}
		if len(keys) == 0 {
			return nil
		}
	}
	vs.Keys = make([]any, len(keys))
	canons := make([]string, len(keys))
	for i, k := range keys {
		vs.Keys[i], canons[i] = k.Value, k.Canon
	}
	req, err := r.Build(vs, true)
	if err != nil {
		return err
	}
	resp, err := r.Source.Do(ctx, req)
	if err != nil {
		col.Uncached()
		return sources.AsError(r.Binding.Source, err)
	}
	answer, err := decodeJSON(resp.Body)
	if err != nil {
		col.Uncached()
		return &sources.Error{Source: r.Binding.Source, Code: sources.CodeBadResponse, Status: resp.Status,
			Method: req.Method, Path: req.Path, Err: err}
	}
	vals, err := r.Match(canons, Dig(answer, r.Binding.Batch.Select))
	if err != nil {
		col.Uncached()
		return &sources.Error{Source: r.Binding.Source, Code: sources.CodeBadResponse, Method: req.Method, Path: req.Path, Err: err}
	}
	for i, res := range out {
		res.Data = vals[i]
	}
	if partKeys == nil {
		col.Uncached()
		return nil
	}
	lt, ok := r.lifetime(req, resp)
	if !ok {
		col.Uncached()
		return nil
	}
	for i, v := range vals {
		if b, err := encodePart(v); err == nil {
			r.cache.Put(ctx, mark, partKeys[i], r.Binding.Name(), keys[i].Canon, b, v, lt.TTL, !lt.Private)
		}
	}
	col.Cached(lt.TTL, lt.Private)
	return nil
}

// batchHits looks each key up in the response cache and fills out for the hits. A key's part of a batch answer
// is cached under the key of the single-key request the batch stands for: the batch request rendered with a
// placeholder key (everything the answer depends on but the key, hashed once per batch) and the key itself. It returns the keys missed,
// their results and their cache keys; partKeys is nil when the batch's answers cannot be cached (a request that
// is not idempotent).
func (r *Resolver) batchHits(ctx context.Context, col *respcache.Collector, vs Vars, keys []Key, out []*result) (miss []Key, missOut []*result, partKeys []string, err error) {
	base, err := r.batchKeyReq(vs, Key{Value: keyPlaceholder})
	if err != nil {
		return nil, nil, nil, err
	}
	if !r.cacheable(base) {
		return keys, out, nil, nil
	}
	name, prefix := r.Binding.Name(), r.cacheKey(base, "batch")
	hits, minTTL := 0, time.Duration(0)
	for i, k := range keys {
		ck := partKey(prefix, k.Canon)
		if v, ttl, ok := r.cache.Get(ctx, ck, name, k.Canon, decodeJSON); ok {
			out[i].Data = v
			if hits == 0 || ttl < minTTL {
				minTTL = ttl
			}
			hits++
			continue
		}
		miss, missOut, partKeys = append(miss, k), append(missOut, out[i]), append(partKeys, ck)
	}
	if hits > 0 {
		col.Cached(minTTL, r.private(base)) // the hits' part of the response lives as long as the first to expire
	}
	return miss, missOut, partKeys, nil
}

// Load hands the keys of some parents to r's batch loader for this client request and flushes it at once: it is
// a Batch of one Load. Fetches that become ready together use one Batch instead, so that they share one flush.
func (l *Loaders) Load(ctx context.Context, r *Resolver, vs Vars, keys []Key) []Pending {
	b := Batch{l: l}
	defer b.Flush()
	return b.Load(ctx, r, vs, keys)
}

// Load hands the keys of some parents to r's batch loader: every key not loaded before in this client request
// is fetched by the loader's next flush (Flush), each distinct key once, by a BatchFunc that starts with the ctx
// of the loader's first Load in b. It returns one Pending per key, in order; wait for them only after Flush.
// Parents whose batch request renders differently (other args or headers) go to different loaders.
func (b *Batch) Load(ctx context.Context, r *Resolver, vs Vars, keys []Key) []Pending {
	return b.Stage(ctx, b.l.Loader(r, vs), keys)
}

// Loader returns r's batch loader for the parents whose template variables are vs, an HTTP or static binding's.
// Parents whose batch request renders differently (other args or headers) get different loaders.
func (l *Loaders) Loader(r *Resolver, vs Vars) Loader {
	id := r.Binding.Name() + "\x00" + loaderID(r.Binding.Batch, &vs)
	return Loader{l.loader(id, r, vs, newHTTPBatchCall)}
}
