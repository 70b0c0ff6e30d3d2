// Package respcache caches backend answers of bindings with `cache` (issue 15): one in-process LRU per
// configuration version, bounded by entries and bytes, in front of an optional shared second level (Redis,
// fleet.ResponseCache) that replicas share. It also collects, per client request, what the response was made
// of (Collector), so that the transport can send a Cache-Control a CDN in front can trust.
//
// Keys are built by the resolvers (Key): source, method, path and query, body and every header sent — so an
// answer is never shared across credentials unless the binding says `public: true`. Purge is by binding or by
// one purge key (a batch key, or an unbatched request's path and query): entries stored before a purge are
// stale, which makes a purge O(1) whatever the number of entries.
package respcache
