package resolvers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/conflux-gql/conflux/events"
	"github.com/conflux-gql/conflux/respcache"
	"github.com/conflux-gql/conflux/sources"
)

// Option configures New.
type Option func(*options)

type options struct {
	cache respcache.Config
	log   *slog.Logger
	// subMetrics receives subscriptions' metrics (subscribe.go).
	subMetrics *SubscriptionMetrics
	// subBudget bounds the bytes of the events every subscription of the process holds (subscribe.go).
	subBudget *events.Budget
}

// WithLogger sets where the resolvers log what clients are not told (a panic in a batch); the default discards
// it.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// WithResponseCache sets what the version's response cache is built with (the shared level, the metrics);
// its MaxBytes, when 0, is the configuration's server.responseCacheBytes.
func WithResponseCache(cfg respcache.Config) Option {
	return func(o *options) { o.cache = cfg }
}

// Cache returns the version's response cache (nil when no binding has cache).
func (s *Set) Cache() *respcache.Cache { return s.cache }

// cacheable reports whether req's answer may be cached: a binding with cache, and an idempotent request (GET,
// HEAD, or a binding that says it is safe to repeat), never with a streamed body (an upload), which its key
// cannot tell apart from another.
func (r *Resolver) cacheable(req *sources.Request) bool {
	return r.cache != nil && req.Stream == nil && (req.Method == http.MethodGet || req.Method == http.MethodHead || r.Binding.RetrySafe)
}

// cacheKey is the key of req's answer (or of one batch key's part of it).
func (r *Resolver) cacheKey(req *sources.Request, part string) string {

	k := respcache.Key{Binding: r.Binding.Name(), Source: r.Binding.Source, Method: req.Method,
		Path: unbatchedPurgeKey(req), Body: req.Body, Header: req.Header, Public: r.Binding.Public, Part: part}
	return k.String()
}

// unbatchedPurgeKey is an unbatched request's path and query: the purge key of its answer, as purgeCache names
// it.
func unbatchedPurgeKey(req *sources.Request) string {
	if len(req.Query) == 0 {
		return req.Path
	}
	return req.Path + "?" + req.Query.Encode()
}

// private reports whether the answers of req are for its credentials alone: it carries them and the binding is
// not public.
func (r *Resolver) private(req *sources.Request) bool {
	return !r.Binding.Public && respcache.Credentials(req.Header)
}

// lifetime is how long resp, the answer of req, may be cached; ok is false when it must not be. A private answer
// (Cache-Control: private) is cached only under a key that holds the credentials it was asked with.
func (r *Resolver) lifetime(req *sources.Request, resp *sources.Response) (respcache.Lifetime, bool) {
	lt, ok := r.policy.Lifetime(resp.Header, r.cache.Now())
	if !ok {
		return lt, false
	}
	if lt.Private && !r.private(req) {
		return lt, false
	}
	lt.Private = lt.Private || r.private(req)
	return lt, true
}

// sendCached is send through the response cache: a fresh cached answer is decoded instead of calling the
// backend, and a cacheable answer is stored. Every call is recorded in the request's Collector.
func (r *Resolver) sendCached(ctx context.Context, req *sources.Request, decode func([]byte) (any, error)) (any, error) {
	col := respcache.FromContext(ctx)
	if !r.cacheable(req) {
		col.Uncached()
		return r.send(ctx, req, decode)
	}
	name, key, pk := r.Binding.Name(), r.cacheKey(req, ""), unbatchedPurgeKey(req)
	mark := r.cache.Mark() // before the lookup: a purge from here on makes what is fetched stale
	if v, ttl, ok := r.cache.Get(ctx, key, name, pk, decode); ok {
		col.Cached(ttl, r.private(req))
		return v, nil
	}
	resp, err := r.Source.Do(ctx, req)
	if err != nil {
		col.Uncached()
		return nil, sources.AsError(r.Binding.Source, err)
	}
	v, err := decode(resp.Body)
	if err != nil {
		col.Uncached()
		return nil, &sources.Error{Source: r.Binding.Source, Code: sources.CodeBadResponse, Status: resp.Status,
			Method: req.Method, Path: req.Path, Err: err}
	}
	if lt, ok := r.lifetime(req, resp); ok {
		r.cache.Put(ctx, mark, key, name, pk, resp.Body, v, lt.TTL, !lt.Private)
		col.Cached(lt.TTL, lt.Private)
	} else {
		col.Uncached()
	}
	return v, nil
}

// keyPlaceholder stands for the key in the batch request rendered once per batch to key its parts (batchHits).
const keyPlaceholder = "{key}"

// batchKeyReq is the batch request rendered with the key k alone.
func (r *Resolver) batchKeyReq(vs Vars, k Key) (*sources.Request, error) {
	vs.Keys = []any{k.Value}
	return r.Build(vs, true)
}

// partKey is the cache key of one batch key's part: the batch's prefix and the key (hashed when long).
func partKey(prefix, canon string) string {
	if len(canon) > 64 {
		sum := sha256.Sum256([]byte(canon))
		return prefix + "#" + hex.EncodeToString(sum[:])
	}
	return prefix + ":" + canon
}

// encodePart is a batch key's part of an answer as it is cached.
func encodePart(v any) ([]byte, error) { return json.Marshal(v) }
