package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// The modes a RateLimiter enforces a source's limits.rate in (the mode label of conflux_rate_limit_mode).
const (
	// ModeGlobal: one budget for all replicas, kept in Redis.
	ModeGlobal = "global"
	// ModeLocal: Redis is down or slow; each replica allows its share, the budget divided by the live replicas.
	ModeLocal = "local"
)

// Replica heartbeats: a replica counts as live while its last heartbeat is younger than ReplicaTTL.
const (
	HeartbeatInterval = time.Second
	ReplicaTTL        = 5 * time.Second
)

// heartbeatScript records that replica ARGV[1] is alive now, forgets the replicas not seen for ARGV[2] ms and
// returns how many are left, in one round trip. Redis's clock is the one clock all replicas share, so skew
// between replicas cannot make one look dead.
var heartbeatScript = redis.NewScript(`
pcall(redis.replicate_commands)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return redis.call('ZCARD', KEYS[1])
`)

// gcraScript is the Generic Cell Rate Algorithm over one key: the key holds the theoretical arrival time (TAT,
// µs on Redis's clock) of the next request. ARGV[1] is the emission interval (µs per request at the rate),
// ARGV[2] the tolerance (interval × burst): a request is allowed when the TAT it would push stays within the
// tolerance of now. It returns 0 when allowed (and records the new TAT), else the µs to wait before one would
// be. One key and one round trip per request; the state is one number that expires once the budget is full.
var gcraScript = redis.NewScript(`
pcall(redis.replicate_commands)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new = tat + interval
if new - now > tolerance then
  return math.ceil(new - now - tolerance)
end
redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', math.ceil((new - now) / 1000) + 1)
return 0
`)

// Replicas keeps this replica's heartbeat in Redis (a sorted set of replica ids by last-seen time, key
// "<prefix>:replicas") and the number of live replicas as last seen. While Redis is unreachable Live keeps the
// last count it saw. Safe for concurrent use; it owns one goroutine, which Close stops.
type Replicas struct {
	c    *Client
	m    *Metrics
	id   string
	key  string
	live atomic.Int64

	stop chan struct{}
	done chan struct{}
}

// NewReplicaID returns an id unique to this process: host name, process id and random bits (so that several
// replicas in one process, as in tests, are told apart).
func NewReplicaID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// NewReplicas announces replica id and keeps announcing it every HeartbeatInterval until Close. It does not
// fail when Redis is down: Live is then 1 until Redis has been reached. m may be nil.
func NewReplicas(c *Client, id string, m *Metrics) *Replicas {
	r := &Replicas{c: c, m: m, id: id, key: c.Key("replicas"), stop: make(chan struct{}), done: make(chan struct{})}
	r.live.Store(1)
	m.live(1)
	// Scripts are gone after Redis restarts: loading them again when it answers keeps each limiter decision
	// at one round trip (EVALSHA) rather than two (EVALSHA, NOSCRIPT, EVAL).
	c.OnUp(func() { loadScripts(c) })
	if c.Healthy() {
		loadScripts(c)
	}
	r.beat()
	go r.run()
	return r
}

func loadScripts(c *Client) {
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
	defer cancel()
	_ = gcraScript.Load(ctx, c.rdb).Err()
	_ = heartbeatScript.Load(ctx, c.rdb).Err()
}

// ID is this replica's id.
func (r *Replicas) ID() string { return r.id }

// Live returns the number of live replicas (at least 1: this one), as last seen in Redis.
func (r *Replicas) Live() int { return int(r.live.Load()) }

// Close stops the heartbeat and removes this replica from the set, so that the others count one fewer at once
// rather than after ReplicaTTL.
func (r *Replicas) Close() {
	close(r.stop)
	<-r.done
	if !r.c.Healthy() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
	defer cancel()
	_ = r.c.rdb.ZRem(ctx, r.key, r.id).Err()
}

func (r *Replicas) run() {
	defer close(r.done)
	t := time.NewTicker(HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.beat()
		}
	}
}

// beat announces this replica and reads the live count; with Redis unreachable it keeps the last count.
func (r *Replicas) beat() {
	if !r.c.Healthy() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
	defer cancel()
	n, err := heartbeatScript.Run(ctx, r.c.rdb, []string{r.key}, r.id, ReplicaTTL.Milliseconds()).Int64()
	if err != nil {
		r.c.Failed(err)
		r.m.failed("replicas")
		return
	}
	n = max(1, n)
	r.live.Store(n)
	r.m.live(int(n))
}

// RateLimiter enforces one source's limits.rate as one budget across all replicas: a GCRA in Redis (key
// "<prefix>:rate:<source>"), one round trip per request. When Redis is unhealthy, or a call fails or takes
// longer than CallTimeout, the request is decided locally instead, by a token bucket of rate/N requests per
// second with burst max(1, burst/N), N being the live replicas as last seen (Replicas.Live): the replicas
// together still allow about the budget, without talking to each other. It never fails a request for Redis's
// trouble. It implements sources.RateLimiter; safe for concurrent use; it owns no goroutine.
type RateLimiter struct {
	c        *Client
	replicas *Replicas
	m        *Metrics
	source   string
	key      string
	rate     float64
	burst    int
	// interval and tolerance are the GCRA's arguments, in µs.
	interval, tolerance string

	local *rate.Limiter
	mu    sync.Mutex // serializes changes of local's limit
	// share is the live count local's limit was last divided by.
	share atomic.Int64
	// mode is the mode of the last decision (ModeGlobal or ModeLocal), for the gauge.
	mode atomic.Pointer[string]
}

// NewRateLimiter returns the limiter of source's limits.rate: limit requests per second with burst (at least
// 1). replicas gives the live count for the local fallback; m may be nil.
func NewRateLimiter(c *Client, replicas *Replicas, source string, limit float64, burst int, m *Metrics) *RateLimiter {
	burst = max(1, burst)
	interval := 1e6 / limit
	l := &RateLimiter{c: c, replicas: replicas, m: m, source: source, key: c.Key("rate", source), rate: limit, burst: burst,
		interval:  strconv.FormatFloat(interval, 'f', 3, 64),
		tolerance: strconv.FormatFloat(interval*float64(burst), 'f', 3, 64),
		local:     rate.NewLimiter(rate.Limit(limit), burst)}
	l.share.Store(1)
	l.divide()
	mode := ModeLocal
	if c.Healthy() {
		mode = ModeGlobal
	}
	l.setMode(mode)
	return l
}

// Allow implements sources.RateLimiter.
func (l *RateLimiter) Allow(ctx context.Context) (bool, time.Duration) {
	if l.c.Healthy() {
		ok, retryAfter, err := l.global(ctx)
		if err == nil {
			l.setMode(ModeGlobal)
			return ok, retryAfter
		}
		if ctx.Err() == nil {
			l.c.Failed(err)
			l.m.failed("rate")
		}
	}
	l.setMode(ModeLocal)
	l.divide()
	return allowLocal(l.local)
}

// allowLocal takes a token of lim if it has one, else says when one is due. It does not reserve and cancel: under
// contention rate.Reservation.Cancel cannot give back a token that later reservations have been counted against,
// and the bucket drains below what the rate allows.
func allowLocal(lim *rate.Limiter) (bool, time.Duration) {
	if lim.Allow() {
		return true, 0
	}
	wait := time.Duration((1 - lim.Tokens()) / float64(lim.Limit()) * float64(time.Second))
	return false, max(wait, time.Millisecond)
}

// global asks Redis's GCRA, within CallTimeout.
func (l *RateLimiter) global(ctx context.Context) (bool, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	wait, err := gcraScript.Run(ctx, l.c.rdb, []string{l.key}, l.interval, l.tolerance).Int64()
	if err != nil {
		return false, 0, fmt.Errorf("rate limit %s: %w", l.source, err)
	}
	if wait > 0 {
		return false, time.Duration(wait) * time.Microsecond, nil
	}
	return true, 0, nil
}

// divide sets the local bucket to this replica's share of the budget when the live count changed.
func (l *RateLimiter) divide() {
	n := int64(1)
	if l.replicas != nil {
		n = int64(l.replicas.Live())
	}
	if l.share.Load() == n {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.share.Load() == n {
		return
	}
	l.local.SetLimit(rate.Limit(l.rate / float64(n)))
	l.local.SetBurst(max(1, l.burst/int(n)))
	l.share.Store(n)
}

// Mode returns the mode of the last decision: ModeGlobal or ModeLocal.
func (l *RateLimiter) Mode() string { return *l.mode.Load() }

func (l *RateLimiter) setMode(mode string) {
	if old := l.mode.Load(); old != nil && *old == mode {
		return
	}
	l.mode.Store(&mode)
	l.m.mode(l.source, mode)
}
