package sources

import (
	"sync"
	"time"
)

// BreakerState is the state of an endpoint's circuit breaker.
type BreakerState int

// The breaker states: closed lets requests through, open refuses them until the cooldown has passed, half-open
// lets one trial request through whose outcome closes or reopens the breaker.
const (
	BreakerClosed BreakerState = iota
	BreakerOpen
	BreakerHalfOpen
)

func (s BreakerState) String() string {
	switch s {
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half_open"
	}
	return "closed"
}

// BreakerConfig configures a circuit breaker. The zero value never opens.
type BreakerConfig struct {
	// Failures opens the breaker after this many consecutive failures; 0 disables the rule.
	Failures int
	// ErrorRate opens the breaker when failures/requests within Window reach it (with at least MinRequests);
	// 0 disables the rule.
	ErrorRate   float64
	Window      time.Duration
	MinRequests int
	// Cooldown is how long an open breaker refuses requests before a half-open trial.
	Cooldown time.Duration
}

// breaker is one endpoint's circuit breaker. Safe for concurrent use.
type breaker struct {
	cfg BreakerConfig
	now func() time.Time
	// onChange, when set, is told every transition (metrics); it is called with the lock held.
	onChange func(BreakerState)

	mu          sync.Mutex
	state       BreakerState
	consecutive int
	openedAt    time.Time
	trial       bool
	windowStart time.Time
	requests    int
	failures    int
}

// newBreaker returns a closed breaker; zero fields of cfg get DefaultHTTPConfig's values (NewHTTP has already
// filled them; tests build breakers directly).
func newBreaker(cfg BreakerConfig, now func() time.Time) *breaker {
	def := DefaultHTTPConfig().Breaker
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = def.Cooldown
	}
	if cfg.Window <= 0 {
		cfg.Window = def.Window
	}
	if cfg.MinRequests <= 0 {
		cfg.MinRequests = def.MinRequests
	}
	return &breaker{cfg: cfg, now: now}
}

func (b *breaker) enabled() bool { return b.cfg.Failures > 0 || b.cfg.ErrorRate > 0 }

// State returns the current state, moving an open breaker whose cooldown passed to half-open.
func (b *breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tick()
	return b.state
}

func (b *breaker) tick() {
	if b.state == BreakerOpen && b.now().Sub(b.openedAt) >= b.cfg.Cooldown {
		b.set(BreakerHalfOpen)
		b.trial = false
	}
}

func (b *breaker) set(s BreakerState) {
	if b.state != s {
		b.state = s
		if b.onChange != nil {
			b.onChange(s)
		}
	}
}

// Allow reports whether a request may go to the endpoint now; in half-open it admits one trial at a time.
// A caller that was allowed must report the outcome with Record, or call Cancel when there is none.
func (b *breaker) Allow() bool {
	if !b.enabled() {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tick()
	switch b.state {
	case BreakerOpen:
		return false
	case BreakerHalfOpen:
		if b.trial {
			return false
		}
		b.trial = true
	}
	return true
}

// Cancel reports that an allowed request says nothing about the endpoint (refused on this side before it was sent,
// or cancelled by its client): it records no outcome, and in half-open it gives the trial back.
func (b *breaker) Cancel() {
	if !b.enabled() {
		return
	}
	b.mu.Lock()
	if b.state == BreakerHalfOpen {
		b.trial = false
	}
	b.mu.Unlock()
}

// Record reports the outcome of an allowed request.
func (b *breaker) Record(failed bool) {
	if !b.enabled() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if now.Sub(b.windowStart) > b.cfg.Window {
		b.windowStart, b.requests, b.failures = now, 0, 0
	}
	b.requests++
	if failed {
		b.failures++
		b.consecutive++
	} else {
		b.consecutive = 0
	}
	switch b.state {
	case BreakerHalfOpen:
		b.trial = false
		if failed {
			b.open(now)
		} else {
			b.set(BreakerClosed)
			b.windowStart, b.requests, b.failures = now, 0, 0
		}
	case BreakerClosed:
		byCount := b.cfg.Failures > 0 && b.consecutive >= b.cfg.Failures
		byRate := b.cfg.ErrorRate > 0 && b.requests >= b.cfg.MinRequests && float64(b.failures)/float64(b.requests) >= b.cfg.ErrorRate
		if failed && (byCount || byRate) {
			b.open(now)
		}
	}
}

func (b *breaker) open(now time.Time) {
	b.openedAt = now
	b.consecutive = 0
	b.set(BreakerOpen)
}
