// Package cache holds Conflux's in-memory caches: least-recently-used maps bounded both by entry count and by
// the approximate bytes their entries hold, so that no stream of large distinct inputs can grow the heap past a
// configured size (issue 13).
package cache

import (
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// LRU is a least-recently-used cache bounded by entries and by bytes. Each entry's size is given when it is
// added (an estimate of what it keeps alive). It is safe for concurrent use.
type LRU[K comparable, V any] struct {
	mu       sync.Mutex
	lru      *simplelru.LRU[K, entry[V]]
	bytes    int64
	maxBytes int64
}

type entry[V any] struct {
	value V
	size  int64
}

// New returns an LRU of at most maxEntries entries and maxBytes bytes; maxEntries must be positive and a
// maxBytes of 0 means no byte bound.
func New[K comparable, V any](maxEntries int, maxBytes int64) (*LRU[K, V], error) {
	c := &LRU[K, V]{maxBytes: maxBytes}
	l, err := simplelru.NewLRU[K, entry[V]](maxEntries, func(_ K, e entry[V]) { c.bytes -= e.size })
	if err != nil {
		return nil, err
	}
	c.lru = l
	return c, nil
}

// Get returns the value under key and marks it recently used.
func (c *LRU[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(key)
	return e.value, ok
}

// Add stores value under key as size bytes, evicting the least recently used entries until both bounds hold.
// A value larger than the whole byte bound is not stored.
func (c *LRU[K, V]) Add(key K, value V, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(key, value, size)
}

// Resize records that the entry under key now holds size bytes (for example a plan whose response was cached
// after it was added), evicting as Add does. It does nothing when key is absent.
func (c *LRU[K, V]) Resize(key K, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.lru.Peek(key); ok {
		c.add(key, e.value, size)
	}
}

// add is Add with c.mu held.
func (c *LRU[K, V]) add(key K, value V, size int64) {
	if c.maxBytes > 0 && size > c.maxBytes {
		c.lru.Remove(key) // the eviction callback takes the old entry's size off
		return
	}
	// Replacing an entry does not call the eviction callback: take the old size off first.
	if old, ok := c.lru.Peek(key); ok {
		c.bytes -= old.size
	}
	c.lru.Add(key, entry[V]{value: value, size: size})
	c.bytes += size
	for c.maxBytes > 0 && c.bytes > c.maxBytes {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			break
		}
	}
}

// Len returns the number of entries.
func (c *LRU[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Bytes returns the sum of the sizes of the entries.
func (c *LRU[K, V]) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}
