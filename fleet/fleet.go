package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config is the `redis:` section of conflux.yaml.
type Config struct {
	// URL is redis://[user:password@]host:port/db or rediss:// for TLS.
	URL string `json:"url"`
	// Prefix starts every key, so that several clusters can share one Redis (default "conflux").
	Prefix string `json:"prefix"`
}

// DefaultPrefix is the key prefix when Config.Prefix is empty.
const DefaultPrefix = "conflux"

// EnvURL is the environment variable that configures Redis when conflux.yaml has no `redis:` section.
const EnvURL = "CONFLUX_REDIS_URL"

// Timeouts of Redis calls: a request never waits on Redis longer than CallTimeout.
const (
	DialTimeout   = 500 * time.Millisecond
	CallTimeout   = 250 * time.Millisecond
	probeInterval = time.Second
)

// Client is a connection to the shared Redis with the cluster's key prefix and its health.
type Client struct {
	rdb    *redis.Client
	prefix string
	log    *slog.Logger

	healthy atomic.Bool
	// now is the local clock (tests skew it); offset is Redis's clock less the local one, in ns, as the last
	// probe measured it: the replicas' times written to Redis are in Redis's clock (RedisTime), so that clock
	// skew between replicas does not reorder what they write (a purge and a store).
	now    func() time.Time
	offset atomic.Int64
	mu     sync.Mutex
	// onUp are called, on the probe's goroutine, when Redis answers again after being down (to resynchronise).
	onUp []func()

	stop chan struct{}
	done chan struct{}
}

// New parses cfg and connects. It does not fail when Redis is down: the client starts unhealthy and becomes
// healthy when the probe first reaches Redis. A malformed URL is an error. logger may be nil.
func New(cfg Config, logger *slog.Logger) (*Client, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	opts.DialTimeout = DialTimeout
	opts.ReadTimeout = CallTimeout
	opts.WriteTimeout = CallTimeout
	// The caller's deadline bounds the whole call: without it go-redis restarts ReadTimeout at each read, and a
	// call of several commands (EVALSHA answered NOSCRIPT, then EVAL) waits several timeouts.
	opts.ContextTimeoutEnabled = true
	opts.MaxRetries = -1 // no retries (0 would mean go-redis's default of 3): the caller falls back; a retry would only make the request wait longer
	opts.DialerRetries = 1
	opts.PoolTimeout = CallTimeout
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	c := &Client{rdb: redis.NewClient(opts), prefix: prefix, log: logger, now: time.Now, stop: make(chan struct{}), done: make(chan struct{})}
	c.probe()
	go c.run()
	return c, nil
}

// Redis returns the underlying client, for the callers' own commands. Every call must carry a deadline.
func (c *Client) Redis() *redis.Client { return c.rdb }

// Key joins parts under the prefix: Key("apq", hash) is "conflux:apq:<hash>".
func (c *Client) Key(parts ...string) string {
	return c.prefix + ":" + strings.Join(parts, ":")
}

// RedisTime converts t, a time of this replica's clock, to Redis's clock (as the last probe measured the
// difference), so that times several replicas write to Redis compare whatever their clocks' skew.
func (c *Client) RedisTime(t time.Time) time.Time { return t.Add(time.Duration(c.offset.Load())) }

// Healthy reports whether the last probe reached Redis.
func (c *Client) Healthy() bool { return c.healthy.Load() }

// OnUp registers f to run each time Redis answers again after being down (and when it first answers). f runs on
// the probe's goroutine: it must bound its own Redis calls with deadlines.
func (c *Client) OnUp(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onUp = append(c.onUp, f)
}

// Failed records that a call failed (a timeout or a dropped connection), so that callers stop asking Redis
// until the probe reaches it again.
func (c *Client) Failed(err error) {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return
	}
	if c.healthy.Swap(false) {
		c.log.Warn("redis unreachable: serving from this replica alone until it answers", "error", err.Error())
	}
}

// Close stops the probe and closes the connections.
func (c *Client) Close() error {
	close(c.stop)
	<-c.done
	return c.rdb.Close()
}

func (c *Client) run() {
	defer close(c.done)
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.probe()
		}
	}
}

// probe pings Redis and records the answer; a return to health runs the OnUp functions.
func (c *Client) probe() {
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
	defer cancel()
	err := c.rdb.Ping(ctx).Err()
	if err != nil {
		c.Failed(err)
		return
	}
	// Redis's clock, measured at the middle of the round trip; a server without TIME leaves the offset as it is.
	before := c.now()
	if rt, err := c.rdb.Time(ctx).Result(); err == nil {
		after := c.now()
		c.offset.Store(int64(rt.Sub(before.Add(after.Sub(before) / 2))))
	}
	if !c.healthy.Swap(true) {
		c.log.Info("redis reachable")
		c.mu.Lock()
		fs := append([]func(){}, c.onUp...)
		c.mu.Unlock()
		for _, f := range fs {
			f()
		}
	}
}
