package sources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/sync/singleflight"
)

// HTTPConfig configures an HTTP source. NewHTTP fills the zero values from DefaultHTTPConfig.
type HTTPConfig struct {
	// Name is the source's key in the configuration; it appears in errors and metrics.
	Name string
	// Endpoints are the base URLs (scheme, host and an optional path prefix).
	Endpoints []string
	// Weights gives each endpoint's share for the weighted strategy (default 1 each).
	Weights []int
	// Strategy selects the endpoint of each attempt: round_robin, least_latency (power of two choices over
	// latency EWMA × in-flight), weighted (smooth weighted round robin) or failover (the first available, in
	// order). Endpoints whose breaker is open or whose probe fails are skipped.
	Strategy string
	// Timeout bounds one request, retries included.
	Timeout time.Duration
	Retry   RetryConfig
	Breaker BreakerConfig
	Limits  LimitsConfig
	Probe   ProbeConfig
	// NoDedup turns off the sharing of identical idempotent requests in flight.
	NoDedup bool
	// Headers are sent on every request.
	Headers http.Header
	// MaxResponseBytes caps a response body; a larger one fails with BAD_UPSTREAM_RESPONSE.
	MaxResponseBytes int64
	// Metrics receives the source's metrics; nil reports none.
	Metrics *Metrics
}

// RetryConfig configures retries.
type RetryConfig struct {
	// Attempts is the number of extra attempts after the first; 0 disables retries.
	Attempts int
	// Backoff is the base of the jittered exponential backoff between attempts.
	Backoff time.Duration
	// Budget caps retries at this share of requests (default 0.2), so retries cannot multiply an outage.
	Budget float64
}

// ProbeConfig configures the active health probe; an empty Path turns it off.
type ProbeConfig struct {
	Path     string
	Interval time.Duration
	Timeout  time.Duration
	// Failures marks an endpoint unhealthy after this many failed probes in a row; Successes marks it healthy again.
	Failures  int
	Successes int
}

// DefaultHTTPConfig returns the defaults NewHTTP applies to zero fields.
func DefaultHTTPConfig() HTTPConfig {
	return HTTPConfig{Strategy: "round_robin", Timeout: 10 * time.Second,
		Retry: RetryConfig{Backoff: 25 * time.Millisecond, Budget: 0.2}, MaxResponseBytes: 16 << 20,
		Probe: ProbeConfig{Interval: 5 * time.Second, Timeout: time.Second, Failures: 2, Successes: 1}}
}

// maxBackoff caps one wait between attempts.
const maxBackoff = time.Second

// HTTP is a REST/JSON source over a pool of endpoints. It is safe for concurrent use; Close stops its probe and
// releases its idle connections.
type HTTP struct {
	cfg       HTTPConfig
	pool      *pool
	limits    *limiter
	budget    *budget
	flight    singleflight.Group
	client    *retryablehttp.Client
	transport *http.Transport
	metrics   *Metrics

	stopProbe chan struct{}
	probeDone chan struct{}
	closeOnce sync.Once
}

var _ Source = (*HTTP)(nil)

// NewTransport returns the tuned transport HTTP sources use: large keep-alive pools (the gateway fans many
// requests out to few hosts), short dial timeout, HTTP/2 where the server offers it.
func NewTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
}

// NewHTTP validates cfg, fills its defaults and returns the source; with a probe configured it starts probing.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	def := DefaultHTTPConfig()
	if cfg.Strategy == "" {
		cfg.Strategy = def.Strategy
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.Retry.Backoff <= 0 {
		cfg.Retry.Backoff = def.Retry.Backoff
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = def.MaxResponseBytes
	}
	if cfg.Probe.Interval <= 0 {
		cfg.Probe.Interval = def.Probe.Interval
	}
	if cfg.Probe.Timeout <= 0 {
		cfg.Probe.Timeout = def.Probe.Timeout
	}
	if cfg.Probe.Failures <= 0 {
		cfg.Probe.Failures = def.Probe.Failures
	}
	if cfg.Probe.Successes <= 0 {
		cfg.Probe.Successes = def.Probe.Successes
	}
	if cfg.Retry.Attempts < 0 {
		return nil, fmt.Errorf("source %s: retry attempts must not be negative", cfg.Name)
	}
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("source %s: no endpoints", cfg.Name)
	}
	if len(cfg.Weights) > 0 && len(cfg.Weights) != len(cfg.Endpoints) {
		return nil, fmt.Errorf("source %s: %d weights for %d endpoints", cfg.Name, len(cfg.Weights), len(cfg.Endpoints))
	}
	h := &HTTP{cfg: cfg, transport: NewTransport(), limits: newLimiter(cfg.Limits), budget: newBudget(cfg.Retry.Budget),
		metrics: cfg.Metrics, pool: &pool{strategy: cfg.Strategy}}
	for i, e := range cfg.Endpoints {
		u, err := url.Parse(strings.TrimSuffix(e, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("source %s: endpoint %q is not an absolute http(s) URL without query", cfg.Name, e)
		}
		ep := &endpoint{url: u, name: u.String(), weight: 1, breaker: newBreaker(cfg.Breaker, time.Now)}
		if len(cfg.Weights) > 0 {
			if cfg.Weights[i] < 1 {
				return nil, fmt.Errorf("source %s: weight %d of %s must be at least 1", cfg.Name, cfg.Weights[i], e)
			}
			ep.weight = cfg.Weights[i]
		}
		ep.probeOK.Store(true)
		if m := h.metrics; m != nil {
			gauge := m.breaker.WithLabelValues(cfg.Name, ep.name)
			gauge.Set(0)
			ep.breaker.onChange = func(s BreakerState) { gauge.Set(float64(s)) }
		}
		h.pool.endpoints = append(h.pool.endpoints, ep)
	}
	h.client = &retryablehttp.Client{
		HTTPClient:   &http.Client{Transport: h.transport},
		Logger:       nil,
		RetryWaitMin: cfg.Retry.Backoff,
		RetryWaitMax: maxBackoff,
		RetryMax:     cfg.Retry.Attempts,
		CheckRetry:   h.checkRetry,
		Backoff:      Backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		PrepareRetry: h.prepareRetry,
	}
	if cfg.Probe.Path != "" {
		h.stopProbe, h.probeDone = make(chan struct{}), make(chan struct{})
		go h.probeLoop()
	}
	return h, nil
}

// Name implements Source.
func (h *HTTP) Name() string { return h.cfg.Name }

// Close stops the probe and closes idle connections. Requests in flight finish; the source stays usable.
func (h *HTTP) Close() {
	h.closeOnce.Do(func() {
		if h.stopProbe != nil {
			close(h.stopProbe)
			<-h.probeDone
		}
	})
	h.transport.CloseIdleConnections()
}

// Status is a source's live state.
type Status struct {
	Name      string
	Strategy  string
	Endpoints []EndpointStatus
}

// Status returns the source's live state: each endpoint's health, breaker, in-flight requests and latencies.
func (h *HTTP) Status() Status {
	st := Status{Name: h.cfg.Name, Strategy: h.cfg.Strategy}
	for _, e := range h.pool.endpoints {
		st.Endpoints = append(st.Endpoints, e.status())
	}
	return st
}

type attemptKey struct{}

// attempt carries one request's state through retryablehttp's hooks: the endpoint of the current attempt and
// when it started.
type attempt struct {
	path, query string
	retrySafe   bool
	ep          *endpoint
	// last is the endpoint of the previous attempt, which a retry avoids.
	last    *endpoint
	start   time.Time
	blocked bool
}

// Idempotent reports whether a request with method may be sent again.
func Idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// Backoff is jittered exponential backoff from min, capped at max, honouring a 429/503 Retry-After.
func Backoff(min, max time.Duration, attemptNum int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) &&
		resp.Header.Get("Retry-After") != "" {
		return retryablehttp.DefaultBackoff(min, max, attemptNum, resp)
	}
	d := min << attemptNum
	if d <= 0 || d > max {
		d = max
	}
	// Jitter between half and the whole wait spreads synchronized retries.
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// retryable reports whether an attempt's outcome is worth another attempt: a connection error, or 429, 502,
// 503 or 504.
func retryable(resp *http.Response, err error) bool {
	if err != nil {
		return true
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// checkRetry records each attempt's outcome on its endpoint, then allows a retry only for idempotent (or
// retry-safe) requests with a retryable outcome, while the context lives and the retry budget has room.
func (h *HTTP) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	a, _ := ctx.Value(attemptKey{}).(*attempt)
	if a != nil && a.ep != nil {
		h.recordAttempt(a, resp, err)
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if !retryable(resp, err) {
		return false, nil
	}
	method := http.MethodGet
	if resp != nil && resp.Request != nil {
		method = resp.Request.Method
	}
	if !Idempotent(method) && (a == nil || !a.retrySafe) {
		return false, nil
	}
	if !h.budget.retry() {
		h.reject("retry_budget")
		return false, nil
	}
	return true, nil
}

func (h *HTTP) recordAttempt(a *attempt, resp *http.Response, err error) {
	ep := a.ep
	a.ep, a.last = nil, ep
	ep.inFlight.Add(-1)
	latency := time.Since(a.start)
	outcome, failed, text := "ok", false, ""
	switch {
	case err != nil:
		outcome, failed, text = "unavailable", true, describe(err)
		if errors.Is(err, context.DeadlineExceeded) {
			outcome, text = "timeout", "timeout"
		}
		if errors.Is(err, context.Canceled) {
			// The client went away: the endpoint did nothing wrong.
			outcome, failed = "cancelled", false
		}
	case resp.StatusCode == http.StatusTooManyRequests:
		outcome = "rate_limited"
	case resp.StatusCode >= 500:
		outcome, failed, text = "http_error", true, fmt.Sprintf("status %d", resp.StatusCode)
	case resp.StatusCode >= 400:
		outcome = "http_error"
	}
	ep.record(latency, failed, text, time.Now())
	if m := h.metrics; m != nil {
		m.inFlight.WithLabelValues(h.cfg.Name, ep.name).Dec()
		m.requests.WithLabelValues(h.cfg.Name, ep.name, outcome).Inc()
		m.latency.WithLabelValues(h.cfg.Name, ep.name).Observe(latency.Seconds())
	}
}

// use starts an attempt on ep.
func (h *HTTP) use(a *attempt, ep *endpoint) {
	a.ep, a.start = ep, time.Now()
	ep.inFlight.Add(1)
	if m := h.metrics; m != nil {
		m.inFlight.WithLabelValues(h.cfg.Name, ep.name).Inc()
	}
}

func (h *HTTP) reject(reason string) {
	if m := h.metrics; m != nil {
		m.rejections.WithLabelValues(h.cfg.Name, reason).Inc()
	}
}

func endpointURL(ep *endpoint, path, query string) *url.URL {
	u := *ep.url
	u.RawPath = ep.url.EscapedPath() + path
	if p, err := url.PathUnescape(u.RawPath); err == nil {
		u.Path = p
	} else {
		u.Path = u.RawPath
	}
	u.RawQuery = query
	return &u
}

// errNoEndpoint stops a retry when every other endpoint's breaker is open.
var errNoEndpoint = errors.New("every endpoint's circuit breaker is open")

// prepareRetry moves a retried request to another available endpoint.
func (h *HTTP) prepareRetry(req *http.Request) error {
	a, ok := req.Context().Value(attemptKey{}).(*attempt)
	if !ok {
		return nil
	}
	ep := h.pool.pick(a.last)
	if ep == nil {
		a.blocked = true
		return errNoEndpoint
	}
	if m := h.metrics; m != nil {
		m.retries.WithLabelValues(h.cfg.Name).Inc()
	}
	h.use(a, ep)
	u := endpointURL(ep, a.path, a.query)
	req.URL, req.Host = u, u.Host
	return nil
}

// Do implements Source. Identical idempotent requests in flight at the same time (same method, path, query,
// headers and body — so never across different credentials) are sent once and share the answer.
func (h *HTTP) Do(ctx context.Context, req *Request) (*Response, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	if h.cfg.NoDedup || (method != http.MethodGet && method != http.MethodHead) {
		return h.do(ctx, req, method)
	}
	key := dedupKey(method, req)
	ch := h.flight.DoChan(key, func() (any, error) { return h.do(ctx, req, method) })
	select {
	case r := <-ch:
		if r.Shared {
			if m := h.metrics; m != nil {
				m.dedupHits.WithLabelValues(h.cfg.Name).Inc()
			}
		}
		if r.Err != nil && r.Shared && ctx.Err() == nil && errors.Is(r.Err, context.Canceled) {
			// The request we joined was cancelled by its own client; ours still wants an answer.
			return h.do(ctx, req, method)
		}
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Response), nil
	case <-ctx.Done():
		return nil, &Error{Source: h.cfg.Name, Code: CodeTimeout, Method: method, Path: req.Path, Err: ctx.Err()}
	}
}

func dedupKey(method string, req *Request) string {
	var b strings.Builder
	b.WriteString(method)
	b.WriteByte(' ')
	b.WriteString(req.Path)
	b.WriteByte('?')
	b.WriteString(req.Query.Encode())
	names := make([]string, 0, len(req.Header))
	for n := range req.Header {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "\n%s: %q", n, req.Header[n])
	}
	b.WriteByte('\n')
	b.Write(req.Body)
	return b.String()
}

func (h *HTTP) do(ctx context.Context, req *Request, method string) (*Response, error) {
	fail := func(code Code, status int, err error) (*Response, error) {
		return nil, &Error{Source: h.cfg.Name, Code: code, Status: status, Method: method, Path: req.Path, Err: err}
	}
	h.budget.request()
	release, reason, retryAfter := h.limits.acquire(ctx)
	if release == nil {
		h.reject(reason)
		if ctx.Err() != nil {
			return fail(CodeTimeout, 0, errors.New("no answer before the deadline"))
		}
		return nil, &Error{Source: h.cfg.Name, Code: CodeRateLimited, Method: method, Path: req.Path, RetryAfter: retryAfter,
			Err: fmt.Errorf("the %s limit of source %s is reached", reason, h.cfg.Name)}
	}
	defer release()

	timeout := h.cfg.Timeout
	if req.Timeout > 0 && req.Timeout < timeout {
		timeout = req.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	a := &attempt{path: req.Path, query: req.Query.Encode(), retrySafe: req.RetrySafe}
	ep := h.pool.pick(nil)
	if ep == nil {
		h.reject("circuit_open")
		return fail(CodeCircuitOpen, 0, errNoEndpoint)
	}
	h.use(a, ep)
	ctx = context.WithValue(ctx, attemptKey{}, a)

	var body any
	if req.Body != nil {
		body = req.Body
	}
	rr, err := retryablehttp.NewRequestWithContext(ctx, method, endpointURL(ep, a.path, a.query).String(), body)
	if err != nil {
		h.recordAttempt(a, nil, err)
		return fail(CodeUnavailable, 0, fmt.Errorf("build request: %w", err))
	}
	for k, vs := range h.cfg.Headers {
		rr.Header[k] = vs
	}
	for k, vs := range req.Header {
		rr.Header[k] = vs
	}
	rr.Header.Set("Accept", "application/json")
	if req.Body != nil {
		rr.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.client.Do(rr)
	if err != nil {
		switch {
		case a.blocked:
			h.reject("circuit_open")
			return fail(CodeCircuitOpen, 0, errors.New("the endpoint failed and every other endpoint's circuit breaker is open"))
		case ctx.Err() == context.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded):
			return fail(CodeTimeout, 0, fmt.Errorf("no answer within %s", timeout))
		case errors.Is(err, context.Canceled):
			return fail(CodeUnavailable, 0, context.Canceled)
		}
		return fail(CodeUnavailable, 0, errors.New(describe(err)))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, h.cfg.MaxResponseBytes+1))
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return fail(CodeTimeout, resp.StatusCode, fmt.Errorf("body not read within %s", timeout))
		}
		return fail(CodeUnavailable, resp.StatusCode, fmt.Errorf("read body: %s", describe(err)))
	}
	if int64(len(data)) > h.cfg.MaxResponseBytes {
		return fail(CodeBadResponse, resp.StatusCode, fmt.Errorf("response larger than %d bytes", h.cfg.MaxResponseBytes))
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e := &Error{Source: h.cfg.Name, Code: CodeRateLimited, Status: resp.StatusCode, Method: method, Path: req.Path}
		e.RetryAfter = retryablehttp.DefaultBackoff(0, time.Hour, 0, resp)
		return nil, e
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return fail(CodeHTTPError, resp.StatusCode, nil)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: bytes.Clone(data)}, nil
}

// describe says what went wrong on the wire without naming the endpoint (hosts are not for clients).
func describe(err error) string {
	var oe *net.OpError
	switch {
	case errors.As(err, &oe) && oe.Op == "dial":
		return "connection refused"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the backend"
	case strings.Contains(err.Error(), "connection reset"):
		return "connection reset by the backend"
	}
	return "connection failed"
}

// probeLoop checks every endpoint's probe path each interval until Close. An endpoint whose probe fails
// Failures times in a row leaves rotation; Successes passing probes bring it back.
func (h *HTTP) probeLoop() {
	defer close(h.probeDone)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-h.stopProbe
		cancel()
	}()
	fails := make([]int, len(h.pool.endpoints))
	oks := make([]int, len(h.pool.endpoints))
	t := time.NewTicker(h.cfg.Probe.Interval)
	defer t.Stop()
	client := &http.Client{Transport: h.transport, Timeout: h.cfg.Probe.Timeout}
	for {
		for i, ep := range h.pool.endpoints {
			ok := probe(ctx, client, endpointURL(ep, h.cfg.Probe.Path, "").String())
			if ctx.Err() != nil {
				return
			}
			if ok {
				fails[i], oks[i] = 0, oks[i]+1
				if oks[i] >= h.cfg.Probe.Successes {
					ep.probeOK.Store(true)
				}
			} else {
				fails[i], oks[i] = fails[i]+1, 0
				if fails[i] >= h.cfg.Probe.Failures {
					ep.probeOK.Store(false)
				}
			}
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

func probe(ctx context.Context, client *http.Client, u string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}
