package respcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conflux-gql/conflux/cache"
)

// Shared is the second level: a store every replica reads and writes (fleet.ResponseCache). Get and Set bound
// their own waits; a failure or timeout is a miss or a no-op, never an error. Implementations are safe for
// concurrent use.
type Shared interface {
	// Get returns the value stored under key and how long it has left to live; a value stored before a purge of
	// its binding or purge key is a miss.
	Get(ctx context.Context, key, binding, purgeKey string) (val []byte, ttl time.Duration, ok bool)
	// Set stores val under key for ttl. begun is when the fetch of val began: a purge after it makes val stale,
	// even when the purge came before Set (the fetch was in flight across it).
	Set(ctx context.Context, key, binding, purgeKey string, val []byte, ttl time.Duration, begun time.Time)
	// Purge makes every value of binding (purgeKey "") or of one purge key stale.
	Purge(ctx context.Context, binding, purgeKey string) error
}

// Config configures a Cache.
type Config struct {
	// MaxBytes bounds the in-process level (approximate bytes of keys and values); 0 means 64 MiB.
	MaxBytes int64
	// MaxEntries bounds its entries; 0 means 100,000.
	MaxEntries int
	// Shared is the second level; nil keeps the cache in-process.
	Shared Shared
	// Metrics receives hits, misses and bytes; nil reports none.
	Metrics *Metrics
	// Now is the clock (tests inject a fake one); nil means time.Now.
	Now func() time.Time
	// Purges is the replica's record of purges; nil gives the cache its own.
	Purges *Purges
}

// Defaults of Config.
const (
	DefaultMaxBytes   = 64 << 20
	DefaultMaxEntries = 100_000
	// entryOverhead is what an entry costs besides its key and value (the LRU's element, the entry struct).
	entryOverhead = 160
	// maxPurgeKeys bounds the recorded purges of single keys; past it they fold into a purge of their binding
	// (which purges more, never less).
	maxPurgeKeys = 10_000
	// maxPurged bounds the recorded purges of bindings and keys together.
	maxPurged = 2 * maxPurgeKeys
)

// Cache is the response cache of one configuration version. It is safe for concurrent use.
type Cache struct {
	lru    *cache.LRU[string, *entry]
	shared Shared
	m      *Metrics
	now    func() time.Time
	purges *Purges
}

// Purges records the purges an entry stored before is stale after: by binding, or by binding and purge key. One
// serves every version of a replica, so that purges other replicas announce (fleet.ResponseCache.Watch) reach
// the running version's cache. It is safe for concurrent use.
type Purges struct {
	// seq orders stores and purges: an entry stored at or before a purge of its binding or key is stale.
	seq atomic.Uint64
	// all is the seq of the last purge of everything (RecordAll).
	all    atomic.Uint64
	mu     sync.Mutex
	purged map[string]uint64 // binding, or binding + "\x00" + purge key → seq of the purge
	nKeys  int
}

// NewPurges returns an empty record of purges.
func NewPurges() *Purges { return &Purges{purged: map[string]uint64{}} }

type entry struct {
	val []byte
	// value is val decoded, shared by every hit: callers treat it as immutable.
	value    any
	expires  time.Time
	seq      uint64
	binding  string
	purgeKey string
}

// New returns an empty Cache.
func New(cfg Config) (*Cache, error) {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	lru, err := cache.New[string, *entry](cfg.MaxEntries, cfg.MaxBytes)
	if err != nil {
		return nil, err
	}
	if cfg.Purges == nil {
		cfg.Purges = NewPurges()
	}
	return &Cache{lru: lru, shared: cfg.Shared, m: cfg.Metrics, now: cfg.Now, purges: cfg.Purges}, nil
}

// Now returns the cache's clock's time.
func (c *Cache) Now() time.Time { return c.now() }

// Mark is when a fetch began, in the order of stores and purges: an answer fetched across a purge (begun
// before it, stored after it) is stale, never stored as fresh. Take it with Cache.Mark before the lookup that
// misses, and give it to Put.
type Mark struct {
	seq uint64
	at  time.Time // wall clock, which the shared level's purges are recorded in
}

// Mark returns the mark of a fetch beginning now.
func (c *Cache) Mark() Mark { return Mark{seq: c.purges.seq.Add(1), at: time.Now()} }

// Get returns the decoded value under key and its remaining lifetime: from this process, else from the shared
// level (decoded with decode, then kept here too). A value that does not decode is a miss. The value is shared
// by every hit: callers must not change it.
func (c *Cache) Get(ctx context.Context, key, binding, purgeKey string, decode func([]byte) (any, error)) (any, time.Duration, bool) {
	now, mark := c.now(), c.Mark()
	if e, ok := c.lru.Get(key); ok {
		if ttl := e.expires.Sub(now); ttl > 0 && !c.purges.stale(e) {
			c.m.hit(binding, "local")
			return e.value, ttl, true
		}
	}
	if c.shared != nil {
		if val, ttl, ok := c.shared.Get(ctx, key, binding, purgeKey); ok && ttl > 0 {
			if v, err := decode(val); err == nil {
				c.m.hit(binding, "shared")
				c.putLocal(mark.seq, key, binding, purgeKey, val, v, now.Add(ttl))
				return v, ttl, true
			}
		}
	}
	c.m.miss(binding)
	return nil, 0, false
}

// Put stores val, whose decoded form is value, under key for ttl in this process and, when shared, in the shared
// level. since is the Mark taken before the fetch of val began: when binding or purgeKey was purged after it,
// val is stored nowhere. value must not change afterwards.
func (c *Cache) Put(ctx context.Context, since Mark, key, binding, purgeKey string, val []byte, value any, ttl time.Duration, shared bool) {
	if ttl <= 0 {
		return
	}
	if c.purges.stale(&entry{seq: since.seq, binding: binding, purgeKey: purgeKey}) {
		return
	}
	c.putLocal(since.seq, key, binding, purgeKey, val, value, c.now().Add(ttl))
	if shared && c.shared != nil {
		c.shared.Set(ctx, key, binding, purgeKey, val, ttl, since.at)
	}
}

func (c *Cache) putLocal(seq uint64, key, binding, purgeKey string, val []byte, value any, expires time.Time) {
	e := &entry{val: val, value: value, expires: expires, seq: seq, binding: binding, purgeKey: purgeKey}
	// val counts once and its decoded form twice (an estimate: maps and interfaces cost more than the text).
	c.lru.Add(key, e, int64(len(key)+3*len(val)+len(binding)+len(purgeKey)+entryOverhead))
	c.m.setBytes(c.lru.Bytes())
}

// stale reports whether e was stored before a purge of its binding or purge key.
func (p *Purges) stale(e *entry) bool {
	if e.seq <= p.all.Load() {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.purged) == 0 {
		return false
	}
	if s, ok := p.purged[e.binding]; ok && e.seq <= s {
		return true
	}
	if e.purgeKey != "" {
		if s, ok := p.purged[e.binding+"\x00"+e.purgeKey]; ok && e.seq <= s {
			return true
		}
	}
	return false
}

// RecordAll makes every entry stored until now stale: the replica may have missed purges (its subscription to
// them dropped).
func (p *Purges) RecordAll() { p.all.Store(p.seq.Add(1)) }

// Record makes the entries of binding (purgeKey "") or of one of its purge keys stored until now stale.
func (p *Purges) Record(binding, purgeKey string) {
	s := p.seq.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.purged) >= maxPurged {
		// Purges of that many bindings come from no configuration (the announcements are Redis's, which may be
		// shared): one purge of everything replaces them, which purges more, never less.
		p.all.Store(s)
		clear(p.purged)
		p.nKeys = 0
	}
	if purgeKey == "" {
		p.purged[binding] = s
		return
	}
	if p.nKeys >= maxPurgeKeys {
		// Fold every key purge into a purge of its binding: more is purged, never less.
		for k := range p.purged {
			if b, _, ok := strings.Cut(k, "\x00"); ok {
				p.purged[b] = s
				delete(p.purged, k)
			}
		}
		p.nKeys = 0
	}
	k := binding + "\x00" + purgeKey
	if _, ok := p.purged[k]; !ok {
		p.nKeys++
	}
	p.purged[k] = s
}

// Purge makes the entries of binding (purgeKey "") or of one of its purge keys stale, here and in the shared
// level. The shared level's error is returned (the local purge is done anyway).
func (c *Cache) Purge(ctx context.Context, binding, purgeKey string) error {
	c.purges.Record(binding, purgeKey)
	if c.shared != nil {
		return c.shared.Purge(ctx, binding, purgeKey)
	}
	return nil
}

// Len returns the entries held in this process (stale ones included until evicted).
func (c *Cache) Len() int { return c.lru.Len() }

// Key is what identifies one cached answer: everything the request sent that can change the answer.
type Key struct {
	Binding, Source, Method, Path string
	Body                          []byte
	// Header is every header sent; Authorization and Cookie are left out when Public.
	Header http.Header
	Public bool
	// Part names a batch key's part of a batch answer ("" for a whole answer).
	Part string
}

// Credentials reports whether h carries credentials: an Authorization header or cookies.
func Credentials(h http.Header) bool {
	return h.Get("Authorization") != "" || h.Get("Cookie") != ""
}

// String hashes k (SHA-256, hex), so that credentials never appear in a key.
func (k *Key) String() string {
	b := make([]byte, 0, 128+len(k.Body))
	w := func(s string) {
		b = append(b, s...)
		b = append(b, 0)
	}
	w(k.Binding)
	w(k.Source)
	w(k.Method)
	w(k.Path)
	b = append(append(b, k.Body...), 0)
	w(k.Part)
	if len(k.Header) > 0 {
		names := make([]string, 0, len(k.Header))
		for name := range k.Header {
			canon := http.CanonicalHeaderKey(name)
			if k.Public && (canon == "Authorization" || canon == "Cookie") {
				continue
			}
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			w(strings.ToLower(name))
			for _, v := range k.Header[name] {
				w(v)
			}
		}
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
