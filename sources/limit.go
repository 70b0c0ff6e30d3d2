package sources

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LimitsConfig caps the load a source sends to its backend. The zero value imposes no limit.
type LimitsConfig struct {
	// Concurrency caps the requests in flight; 0 means no cap.
	Concurrency int
	// QueueTimeout is how long a request may wait for a free slot before it fails with RATE_LIMITED.
	QueueTimeout time.Duration
	// Rate caps requests per second (token bucket, burst Burst); 0 means no cap.
	Rate  float64
	Burst int
}

// limiter enforces LimitsConfig, shedding excess load with RATE_LIMITED rather than queueing without bound.
// Safe for concurrent use.
type limiter struct {
	sem   chan struct{}
	wait  time.Duration
	token *rate.Limiter
}

func newLimiter(cfg LimitsConfig) *limiter {
	l := &limiter{wait: cfg.QueueTimeout}
	if l.wait <= 0 {
		l.wait = DefaultHTTPConfig().Limits.QueueTimeout
	}
	if cfg.Concurrency > 0 {
		l.sem = make(chan struct{}, cfg.Concurrency)
	}
	if cfg.Rate > 0 {
		burst := cfg.Burst
		if burst <= 0 {
			burst = max(1, int(cfg.Rate/10))
		}
		l.token = rate.NewLimiter(rate.Limit(cfg.Rate), burst)
	}
	return l
}

// acquire admits one request or says why not ("rate" or "concurrency") and when to try again.
func (l *limiter) acquire(ctx context.Context) (release func(), reason string, retryAfter time.Duration) {
	if l.token != nil {
		r := l.token.Reserve()
		if d := r.Delay(); d > 0 {
			r.Cancel()
			return nil, "rate", d
		}
	}
	if l.sem == nil {
		return func() {}, "", 0
	}
	select {
	case l.sem <- struct{}{}:
		return func() { <-l.sem }, "", 0
	default:
	}
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.sem <- struct{}{}:
		return func() { <-l.sem }, "", 0
	case <-t.C:
		return nil, "concurrency", l.wait
	case <-ctx.Done():
		return nil, "concurrency", 0
	}
}

// budget caps retries at a share of requests, so retries cannot multiply an outage: each request earns ratio
// tokens (up to a cap), each retry spends one. Safe for concurrent use.
type budget struct {
	mu     sync.Mutex
	ratio  float64
	tokens float64
	cap    float64
}

func newBudget(ratio float64) *budget {
	if ratio <= 0 {
		ratio = DefaultHTTPConfig().Retry.Budget
	}
	// A few retries are allowed before any request has earned them, as a minimum retry rate would.
	return &budget{ratio: ratio, tokens: 3, cap: 100}
}

func (b *budget) request() {
	b.mu.Lock()
	b.tokens = min(b.cap, b.tokens+b.ratio)
	b.mu.Unlock()
}

func (b *budget) retry() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}
