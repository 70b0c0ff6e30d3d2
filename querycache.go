package main

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/conflux-gql/conflux/cache"
	"github.com/vektah/gqlparser/v2/ast"
)

// bytesPerNode is the heap one node of a parsed and validated query document holds, rounded up (a field, argument, value,
// directive, fragment spread, inline fragment, variable definition, fragment or operation, with its position
// and its slot in its parent's list): a field is about 228 bytes on 64-bit platforms, an argument with its value
// about 270 (two nodes here), measured by TestDocumentCache_SizeEstimate. Counting nodes rather than taking a
// multiple of the query's length keeps the estimate both safe and close: the heap per byte of query text ranges
// from about 20 (the example's sample query, an introspection query) to 76 (4,000 fields "id").
const bytesPerNode = 256

// entryOverhead approximates the bytes of one cache entry besides its key and value (list element, map slot).
const entryOverhead = 128

// lruCache is one of gqlgen's caches (graphql.Cache) over a cache.LRU bounded by entries and by bytes, each
// entry sized by size. Safe for concurrent use.
type lruCache[V any] struct {
	lru  *cache.LRU[string, V]
	size func(key string, value V) int64
}

var (
	_ graphql.Cache[*ast.QueryDocument] = lruCache[*ast.QueryDocument]{}
	_ graphql.Cache[string]             = lruCache[string]{}
)

// Get implements graphql.Cache.
func (c lruCache[V]) Get(_ context.Context, key string) (V, bool) { return c.lru.Get(key) }

// Add implements graphql.Cache.
func (c lruCache[V]) Add(_ context.Context, key string, value V) {
	c.lru.Add(key, value, c.size(key, value))
}

// newDocumentCache returns gqlgen's query-document cache (the parsed and validated documents by query text),
// bounded by server.queryCacheSize entries and server.queryCacheBytes bytes.
func newDocumentCache(entries int, bytes int64) (lruCache[*ast.QueryDocument], error) {
	lru, err := cache.New[string, *ast.QueryDocument](entries, bytes)
	return lruCache[*ast.QueryDocument]{lru: lru, size: documentSize}, err
}

// documentSize estimates the heap a cached document of query holds: the query text (the cache's key, which the
// document's ast.Source shares) and bytesPerNode for each node of the document.
func documentSize(query string, doc *ast.QueryDocument) int64 {
	return int64(len(query)) + bytesPerNode*int64(countNodes(doc)) + entryOverhead
}

// countNodes counts the nodes of doc (see bytesPerNode). Fragments are counted where they are defined, not
// where they are spread, as the AST holds them.
func countNodes(doc *ast.QueryDocument) int {
	n := 0
	var values func(v *ast.Value)
	values = func(v *ast.Value) {
		if v == nil {
			return
		}
		n++
		for _, c := range v.Children {
			values(c.Value)
		}
	}
	arguments := func(args ast.ArgumentList) {
		for _, a := range args {
			n++
			values(a.Value)
		}
	}
	directives := func(dirs ast.DirectiveList) {
		for _, d := range dirs {
			n++
			arguments(d.Arguments)
		}
	}
	var selections func(set ast.SelectionSet)
	selections = func(set ast.SelectionSet) {
		for _, sel := range set {
			n++
			switch sel := sel.(type) {
			case *ast.Field:
				arguments(sel.Arguments)
				directives(sel.Directives)
				selections(sel.SelectionSet)
			case *ast.InlineFragment:
				directives(sel.Directives)
				selections(sel.SelectionSet)
			case *ast.FragmentSpread:
				directives(sel.Directives)
			}
		}
	}
	for _, op := range doc.Operations {
		n++
		for _, v := range op.VariableDefinitions {
			n++
			values(v.DefaultValue)
			directives(v.Directives)
		}
		directives(op.Directives)
		selections(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		n++
		directives(f.Directives)
		selections(f.SelectionSet)
	}
	return n
}

// apqCacheEntries caps the number of persisted queries kept.
const apqCacheEntries = 1000

// newAPQCache returns the Automatic Persisted Queries cache (query text by SHA-256 hash), bounded by
// apqCacheEntries entries and by the bytes of the hashes and queries: server.apqCacheBytes.
func newAPQCache(bytes int64) (lruCache[string], error) {
	lru, err := cache.New[string, string](apqCacheEntries, bytes)
	return lruCache[string]{lru: lru, size: func(hash, query string) int64 {
		return int64(len(hash) + len(query) + entryOverhead)
	}}, err
}

// apqCache is the APQ cache of a replica in a fleet (issue 15): this process's LRU first, then the query text
// every replica shares through Redis (fleet.APQ). A registration is written through to both; a hash the LRU
// does not have is read through from the shared level and kept in the LRU. The shared level never fails a
// request: Redis down or slow is a miss there (PERSISTED_QUERY_NOT_FOUND, as on a replica of its own) and a
// registration is then kept here only. Safe for concurrent use.
type apqCache struct {
	local  lruCache[string]
	shared graphql.Cache[string]
}

var _ graphql.Cache[string] = apqCache{}

// sharedAPQ returns local with shared as its second level, or local alone when shared is nil (no `redis:`).
func sharedAPQ(local lruCache[string], shared graphql.Cache[string]) graphql.Cache[string] {
	if shared == nil {
		return local
	}
	return apqCache{local: local, shared: shared}
}

// Get implements graphql.Cache.
func (c apqCache) Get(ctx context.Context, hash string) (string, bool) {
	if q, ok := c.local.Get(ctx, hash); ok {
		return q, true
	}
	q, ok := c.shared.Get(ctx, hash)
	if ok {
		c.local.Add(ctx, hash, q)
	}
	return q, ok
}

// Add implements graphql.Cache. A query this replica has already is not written to Redis again: clients that
// send the query with every request would otherwise cost a Redis write each.
func (c apqCache) Add(ctx context.Context, hash, query string) {
	if q, ok := c.local.Get(ctx, hash); ok && q == query {
		return
	}
	c.local.Add(ctx, hash, query)
	c.shared.Add(ctx, hash, query)
}
