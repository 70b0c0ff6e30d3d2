package main

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/conflux-gql/conflux/cache"
	"github.com/vektah/gqlparser/v2/ast"
)

// documentBytesPerQueryByte is how many bytes of heap a parsed and validated query document holds per byte of
// its query text, key included (the document's ast.Source holds the same string). Measured by
// TestDocumentCache_SizeEstimate: a document with many short fields (the worst case, about 90 bytes of AST for a
// 3-byte field), an introspection query and a query of the example, parsed and validated, each kept alive.
const documentBytesPerQueryByte = 40

// entryOverhead approximates the bytes of one cache entry besides its key and value (list element, map slot).
const entryOverhead = 128

// documentCache is gqlgen's query-document cache (the parsed and validated documents by query text) over a
// cache.LRU bounded by entries and by bytes: server.queryCacheSize and server.queryCacheBytes. Safe for
// concurrent use.
type documentCache struct {
	lru *cache.LRU[string, *ast.QueryDocument]
}

var _ graphql.Cache[*ast.QueryDocument] = documentCache{}

func newDocumentCache(entries int, bytes int64) (documentCache, error) {
	lru, err := cache.New[string, *ast.QueryDocument](entries, bytes)
	return documentCache{lru: lru}, err
}

// Get implements graphql.Cache.
func (c documentCache) Get(_ context.Context, query string) (*ast.QueryDocument, bool) {
	return c.lru.Get(query)
}

// Add implements graphql.Cache.
func (c documentCache) Add(_ context.Context, query string, doc *ast.QueryDocument) {
	c.lru.Add(query, doc, documentSize(query))
}

// documentSize estimates the heap a cached document of query holds.
func documentSize(query string) int64 {
	return int64(len(query))*documentBytesPerQueryByte + entryOverhead
}

// apqCache is the Automatic Persisted Queries cache (query text by SHA-256 hash) over a cache.LRU bounded by
// entries and by the bytes of the hashes and queries: server.apqCacheBytes. Safe for concurrent use.
type apqCache struct {
	lru *cache.LRU[string, string]
}

var _ graphql.Cache[string] = apqCache{}

// apqCacheEntries caps the number of persisted queries kept.
const apqCacheEntries = 1000

func newAPQCache(bytes int64) (apqCache, error) {
	lru, err := cache.New[string, string](apqCacheEntries, bytes)
	return apqCache{lru: lru}, err
}

// Get implements graphql.Cache.
func (c apqCache) Get(_ context.Context, hash string) (string, bool) { return c.lru.Get(hash) }

// Add implements graphql.Cache.
func (c apqCache) Add(_ context.Context, hash, query string) {
	c.lru.Add(hash, query, int64(len(hash)+len(query)+entryOverhead))
}
