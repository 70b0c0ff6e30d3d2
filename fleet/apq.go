package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// The shared persisted queries: each is kept for APQTTL after it was last registered, and only queries up to
// MaxQueryBytes are shared (a larger one stays in the registering replica's own cache). A client that meets
// PERSISTED_QUERY_NOT_FOUND registers its query again, as the APQ protocol says, so expiry costs one round trip.
const (
	APQTTL        = 24 * time.Hour
	MaxQueryBytes = 64 << 10
)

// APQ is the second level of the Automatic Persisted Queries cache: query text by SHA-256 hash, in Redis (key
// "<prefix>:apq:<hash>"), so that a hash registered on one replica is found on all. It has the method set of
// gqlgen's graphql.Cache[string]. Redis being down or slower than CallTimeout makes Get a miss and Add a no-op:
// never an error. Safe for concurrent use.
type APQ struct {
	c *Client
	m *Metrics
}

// NewAPQ returns the shared APQ store of c; m may be nil.
func NewAPQ(c *Client, m *Metrics) *APQ { return &APQ{c: c, m: m} }

// Get returns the query registered under hash on any replica. A value that is too large or does not hash to
// hash (Redis is shared, so what it holds is checked like input) is a miss.
func (a *APQ) Get(ctx context.Context, hash string) (string, bool) {
	if !validHash(hash) || !a.c.Healthy() {
		a.m.apqMiss()
		return "", false
	}
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	// GETRANGE bounds what is read to MaxQueryBytes+1 bytes; a missing key reads as "".
	q, err := a.c.rdb.GetRange(ctx, a.c.Key("apq", hash), 0, MaxQueryBytes).Result()
	if err != nil {
		if !errors.Is(ctx.Err(), context.Canceled) {
			a.c.Failed(err)
			a.m.failed("apq")
		}
		a.m.apqMiss()
		return "", false
	}
	if q == "" || len(q) > MaxQueryBytes || queryHash(q) != hash {
		a.m.apqMiss()
		return "", false
	}
	a.m.apqHit()
	return q, true
}

// Add registers query under hash for every replica, for APQTTL. It waits at most CallTimeout; a failure is
// recorded and otherwise ignored (the registering replica keeps the query in its own cache).
func (a *APQ) Add(ctx context.Context, hash, query string) {
	if !validHash(hash) || len(query) > MaxQueryBytes || query == "" || !a.c.Healthy() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	if err := a.c.rdb.Set(ctx, a.c.Key("apq", hash), query, APQTTL).Err(); err != nil {
		if !errors.Is(ctx.Err(), context.Canceled) {
			a.c.Failed(err)
			a.m.failed("apq")
		}
	}
}

// validHash reports whether hash is a SHA-256 in lower-case hex, as gqlgen checks registrations against.
func validHash(hash string) bool {
	if len(hash) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(hash); i++ {
		if c := hash[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func queryHash(q string) string {
	sum := sha256.Sum256([]byte(q))
	return hex.EncodeToString(sum[:])
}
