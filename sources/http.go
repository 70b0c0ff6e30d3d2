package sources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/singleflight"
)

// HTTPConfig configures an HTTP source (an http or a graphql source of the configuration; DESIGN.md, Sources). It
// is the one home of this configuration: the schema loader decodes a source's YAML into it, starting from
// DefaultHTTPConfig, and NewHTTP takes it as decoded. NewHTTP fills the zero values from DefaultHTTPConfig
// (withDefaults is the one place defaults are applied) and then validates it.
type HTTPConfig struct {
	// Name is the source's key in the configuration; it appears in errors and metrics.
	Name string `json:"-"`
	// Endpoints are the base URLs: absolute http or https, with an optional path prefix, without query or
	// fragment. Request.Path is appended to the prefix as is (already escaped).
	Endpoints []string
	// Weights gives each endpoint's share for the weighted strategy (default 1 each).
	Weights []int
	// Strategy selects the endpoint of each attempt: round_robin, least_latency (power of two choices over
	// latency EWMA × in-flight), weighted (smooth weighted round robin) or failover (the first available, in
	// order). Endpoints whose breaker is open or whose probe fails are skipped.
	Strategy string
	// Timeout bounds one request, retries and backoff included (default 10s). Request.Timeout may shorten it.
	Timeout time.Duration
	Retry   RetryConfig
	Breaker BreakerConfig
	Limits  LimitsConfig
	// Health configures the active probe of each endpoint (the `health` key); an empty Path turns it off.
	Health ProbeConfig
	// Dedup shares identical idempotent requests in flight; nil means the default, on.
	Dedup *bool
	// Headers are sent on every request; a Request's own headers win over them. The loader renders their
	// {{env.*}} templates.
	Headers http.Header
	// MaxResponseBytes caps a response body (default 16 MiB); a larger one fails with BAD_UPSTREAM_RESPONSE.
	MaxResponseBytes int64
	// ForwardHeaders names the incoming request headers a graphql source's resolver sends on to the backend
	// (none by default). The transport itself does not read it.
	ForwardHeaders []string
	// Redirects says which backend redirects are followed (issue 13): RedirectsSameHost (the default) follows
	// those to the endpoint's own host and port, never from https to http; RedirectsNone follows none. A redirect
	// that is not followed, or one past MaxRedirects, fails with UPSTREAM_HTTP_ERROR and the 3xx status. The
	// probe follows the same policy.
	Redirects string
	// RedirectHosts are other host names (lower case, any port) whose redirects are followed besides the
	// endpoint's own, unless Redirects is RedirectsNone. A request redirected to another host keeps only
	// content-negotiation headers: the source's Headers and the request's (API keys, forwarded credentials)
	// never leave for another host.
	RedirectHosts []string
	// SDL is a graphql source's upstream schema file, relative to the configuration; the schema loader reads it.
	// The transport itself does not read it.
	SDL string
	// Metrics receives the source's metrics; nil reports none.
	Metrics *Metrics `json:"-"`
}

// RetryConfig configures retries. Only idempotent requests (GET, HEAD, OPTIONS, PUT, DELETE, or a Request marked
// RetrySafe) are retried, only after a connection error or a 429, 502, 503 or 504, and never once the request's
// context is done. Each retry goes to another endpoint when the strategy offers one.
type RetryConfig struct {
	// Attempts is the number of extra attempts after the first; 0 (the default) disables retries.
	Attempts int
	// Backoff is the base of the jittered exponential backoff between attempts (default 25ms, each wait capped
	// at 1s). A 429 or 503 with Retry-After waits as the backend asks, within the same cap.
	Backoff time.Duration
	// Budget caps retries at this share of requests (default 0.2), so retries cannot multiply an outage.
	Budget float64
}

// The redirect policies of HTTPConfig.Redirects.
const (
	RedirectsSameHost = "same_host"
	RedirectsNone     = "none"
)

// MaxRedirects caps the redirects one attempt follows.
const MaxRedirects = 5

// DefaultHTTPConfig returns the defaults NewHTTP applies to zero fields. The breaker's defaults only matter once
// Failures or ErrorRate turns it on; the probe's once Path is set.
func DefaultHTTPConfig() HTTPConfig {
	return HTTPConfig{Strategy: "round_robin", Timeout: 10 * time.Second, Redirects: RedirectsSameHost,
		Retry:            RetryConfig{Backoff: 25 * time.Millisecond, Budget: 0.2},
		Breaker:          BreakerConfig{Window: 10 * time.Second, MinRequests: 20, Cooldown: 5 * time.Second},
		Limits:           LimitsConfig{QueueTimeout: 50 * time.Millisecond},
		Health:           ProbeConfig{Interval: 5 * time.Second, Timeout: time.Second, Failures: 2, Successes: 1},
		Dedup:            new(true),
		MaxResponseBytes: 16 << 20}
}

// withDefaults returns cfg with every zero (or negative) duration, count and size, and a nil Dedup, set from
// DefaultHTTPConfig.
// It is the only place HTTP defaults are applied; newBreaker and newLimiter fall back to the same values.
func (cfg HTTPConfig) withDefaults() HTTPConfig {
	def := DefaultHTTPConfig()
	or := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	orInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if cfg.Strategy == "" {
		cfg.Strategy = def.Strategy
	}
	if cfg.Redirects == "" {
		cfg.Redirects = def.Redirects
	}
	or(&cfg.Timeout, def.Timeout)
	or(&cfg.Retry.Backoff, def.Retry.Backoff)
	if cfg.Retry.Budget <= 0 {
		cfg.Retry.Budget = def.Retry.Budget
	}
	or(&cfg.Breaker.Window, def.Breaker.Window)
	orInt(&cfg.Breaker.MinRequests, def.Breaker.MinRequests)
	or(&cfg.Breaker.Cooldown, def.Breaker.Cooldown)
	or(&cfg.Limits.QueueTimeout, def.Limits.QueueTimeout)
	or(&cfg.Health.Interval, def.Health.Interval)
	or(&cfg.Health.Timeout, def.Health.Timeout)
	orInt(&cfg.Health.Failures, def.Health.Failures)
	orInt(&cfg.Health.Successes, def.Health.Successes)
	if cfg.Dedup == nil {
		cfg.Dedup = def.Dedup
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = def.MaxResponseBytes
	}
	return cfg
}

// Strategies are the endpoint selection strategies HTTPConfig.Strategy may name.
var Strategies = []string{"round_robin", "least_latency", "weighted", "failover"}

// validate reports every problem of a defaulted cfg at once and returns the parsed endpoints.
func (cfg HTTPConfig) validate() ([]*url.URL, error) {
	var errs []error
	if len(cfg.Endpoints) == 0 {
		errs = append(errs, errors.New("no endpoints"))
	}
	if !slices.Contains(Strategies, cfg.Strategy) {
		errs = append(errs, fmt.Errorf("unknown strategy %q (have: %s)", cfg.Strategy, strings.Join(Strategies, ", ")))
	}
	if cfg.Retry.Attempts < 0 {
		errs = append(errs, errors.New("retry attempts must not be negative"))
	}
	if cfg.Redirects != RedirectsSameHost && cfg.Redirects != RedirectsNone {
		errs = append(errs, fmt.Errorf("unknown redirects policy %q (have: %s, %s)", cfg.Redirects, RedirectsSameHost, RedirectsNone))
	}
	for _, host := range cfg.RedirectHosts {
		if host == "" || host != strings.ToLower(host) || strings.ContainsAny(host, "/:@ ") {
			errs = append(errs, fmt.Errorf("redirect host %q is not a lower-case host name", host))
		}
	}
	if reason := checkHeader(cfg.Headers); reason != "" {
		errs = append(errs, errors.New(reason))
	}
	if len(cfg.Weights) > 0 && len(cfg.Weights) != len(cfg.Endpoints) {
		errs = append(errs, fmt.Errorf("%d weights for %d endpoints", len(cfg.Weights), len(cfg.Endpoints)))
	}
	urls := make([]*url.URL, len(cfg.Endpoints))
	for i, e := range cfg.Endpoints {
		u, err := url.Parse(strings.TrimSuffix(e, "/"))
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("endpoint %d: %w", i, err))
		case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
			errs = append(errs, fmt.Errorf("endpoint %q is not an absolute http(s) URL", u.Redacted()))
		case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
			errs = append(errs, fmt.Errorf("endpoint %q has a query or fragment", u.Redacted()))
		}
		urls[i] = u
		if len(cfg.Weights) == len(cfg.Endpoints) && cfg.Weights[i] < 1 {
			errs = append(errs, fmt.Errorf("weight %d of endpoint %d must be at least 1", cfg.Weights[i], i))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("source %s: %w", cfg.Name, err)
	}
	return urls, nil
}

// maxBackoff caps one wait between attempts.
const maxBackoff = time.Second

// HTTP is a REST/JSON source over a pool of endpoints, sending through go-retryablehttp over one tuned transport
// (NewTransport) per source. It is safe for concurrent use. Its lifecycle: NewHTTP starts it (and its probe, if
// any); Close stops the probe and releases idle connections once the source is no longer handed new requests.
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

// HTTPOption adjusts an HTTP source beyond its configuration.
type HTTPOption func(*HTTP)

// WithTransport makes the source send through t instead of a transport of its own from NewTransport, e.g. to
// share one connection pool between sources. Close still closes t's idle connections.
func WithTransport(t *http.Transport) HTTPOption {
	return func(h *HTTP) { h.transport = t }
}

// NewHTTP fills cfg's defaults, validates it (reporting every problem) and returns the source; with a probe
// configured it starts probing until Close.
func NewHTTP(cfg HTTPConfig, opts ...HTTPOption) (*HTTP, error) {
	cfg = cfg.withDefaults()
	urls, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	h := &HTTP{cfg: cfg, limits: newLimiter(cfg.Limits), budget: newBudget(cfg.Retry.Budget),
		metrics: cfg.Metrics, pool: &pool{strategy: cfg.Strategy}}
	for _, o := range opts {
		o(h)
	}
	if h.transport == nil {
		h.transport = NewTransport()
	}
	for i, u := range urls {
		// Redacted: the name reaches the admin API and metrics, which must not show a password in the URL.
		ep := &endpoint{url: u, name: u.Redacted(), weight: 1, breaker: newBreaker(cfg.Breaker, time.Now)}
		if len(cfg.Weights) > 0 {
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
		HTTPClient:   &http.Client{Transport: keepIdle{h.transport}, CheckRedirect: h.checkRedirect},
		Logger:       nil,
		RetryWaitMin: cfg.Retry.Backoff,
		RetryWaitMax: maxBackoff,
		RetryMax:     cfg.Retry.Attempts,
		CheckRetry:   h.checkRetry,
		Backoff:      Backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		PrepareRetry: h.prepareRetry,
	}
	if cfg.Health.Path != "" {
		h.stopProbe, h.probeDone = make(chan struct{}), make(chan struct{})
		go h.probeLoop()
	}
	return h, nil
}

// Name implements Source.
func (h *HTTP) Name() string { return h.cfg.Name }

// Close stops the probe and closes the transport's idle keep-alive connections, so that a source replaced by a
// reload leaves no connection or goroutine behind. Requests in flight finish normally. Close is idempotent and
// the source stays usable afterwards (new requests dial again), but it is meant to be called once the source is
// no longer handed new requests.
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

// keepIdle hides the transport's CloseIdleConnections from retryablehttp: its Client.Do closes every idle
// connection of its client after any request that fails, so one flaky endpoint would drop the keep-alive pool of
// every endpoint of the source.
type keepIdle struct{ rt http.RoundTripper }

// RoundTrip also tells a request net/http refused on this side (localError) from a failure of the endpoint.
// When the request's context carries a trace (issue 16), each attempt (a retry is a new RoundTrip) sends
// traceparent, and is a client span of its own under the caller's (fetch) span when that one records.
func (k keepIdle) RoundTrip(r *http.Request) (*http.Response, error) {
	if trace.SpanContextFromContext(r.Context()).IsValid() {
		return k.traced(r)
	}
	return k.roundTrip(r)
}

func (k keepIdle) roundTrip(r *http.Request) (*http.Response, error) {
	resp, err := k.rt.RoundTrip(r)
	if err != nil {
		if reason := refusedLocally(r, err); reason != "" {
			return nil, &localError{reason: reason, err: err}
		}
	}
	return resp, err
}

// propagator writes the W3C traceparent, tracestate and baggage headers of every upstream request (issue 16).
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// tracerName names the instrumentation of upstream attempts.
const tracerName = "github.com/conflux-gql/conflux/sources"

// traced sends one attempt of a traced request: as a client span "GET", "POST"… (OpenTelemetry's HTTP client
// conventions; http.request.resend_count counts the retries) when the caller's span records, and with the
// trace's headers in any case. The caller's span (the fetch's) also gets the last attempt's endpoint and status.
// The request is cloned to carry the headers: a RoundTripper must not change its request.
func (k keepIdle) traced(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	parent := trace.SpanFromContext(ctx)
	var span trace.Span
	if parent.IsRecording() {
		u := *r.URL
		u.RawQuery, u.User = "", nil
		attrs := []attribute.KeyValue{
			attribute.String("http.request.method", r.Method),
			attribute.String("url.full", u.String()),
			attribute.String("server.address", r.URL.Hostname()),
		}
		if port := r.URL.Port(); port != "" {
			if n, err := strconv.Atoi(port); err == nil {
				attrs = append(attrs, attribute.Int("server.port", n))
			}
		}
		if a, ok := ctx.Value(attemptKey{}).(*attempt); ok && a.n > 1 {
			attrs = append(attrs, attribute.Int("http.request.resend_count", a.n-1))
		}
		parent.SetAttributes(attrs[:3]...)
		ctx, span = parent.TracerProvider().Tracer(tracerName).Start(ctx, r.Method,
			trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
		defer span.End()
	}
	r = r.Clone(ctx)
	propagator.Inject(ctx, propagation.HeaderCarrier(r.Header))
	resp, err := k.roundTrip(r)
	if span != nil {
		switch {
		case err != nil:
			span.RecordError(err)
			span.SetStatus(codes.Error, describe(err))
		default:
			status := attribute.Int("http.response.status_code", resp.StatusCode)
			span.SetAttributes(status)
			parent.SetAttributes(status)
			if resp.StatusCode >= 400 {
				span.SetStatus(codes.Error, "HTTP "+strconv.Itoa(resp.StatusCode))
			}
		}
	}
	return resp, err
}

type attemptKey struct{}

// attempt carries one request's state through retryablehttp's hooks: the endpoint of the current attempt and
// when it started.
type attempt struct {
	method      string
	path, query string
	retrySafe   bool
	ep          *endpoint
	// last is the endpoint of the previous attempt, which a retry avoids.
	last    *endpoint
	start   time.Time
	blocked bool
	// redirect says why a redirect was not followed (checkRedirect); the attempt then ends with the 3xx answer.
	redirect string
	// n counts the attempts started (use), for the attempts' spans.
	n int
}

// Idempotent reports whether a request with method may be sent again.
func Idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// Backoff is the retryablehttp.Backoff of HTTP sources: jittered exponential backoff from min (half to all of
// min·2^attemptNum), capped at max, honouring a 429/503 Retry-After up to max.
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
	if asLocal(err) != nil || !retryable(resp, err) {
		return false, nil
	}
	// The method comes from the attempt, not resp.Request: after a connection error there is no response, and
	// a POST must not be retried then either (the backend may have acted before the connection broke).
	if a == nil || (!Idempotent(a.method) && !a.retrySafe) {
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
	if m := h.metrics; m != nil {
		m.inFlight.WithLabelValues(h.cfg.Name, ep.name).Dec()
	}
	if asLocal(err) != nil {
		// Refused on this side before anything was sent (issue 13): the endpoint did nothing, so neither its
		// health, breaker nor latency hears of it, and a half-open breaker gets its trial back.
		ep.breaker.Cancel()
		h.reject("bad_request")
		return
	}
	latency := time.Since(a.start)
	outcome, failed, text := "ok", false, ""
	switch {
	case errors.Is(err, context.Canceled):
		outcome = "cancelled"
	case err != nil:
		outcome, failed, text = "unavailable", true, describe(err)
		if errors.Is(err, context.DeadlineExceeded) {
			outcome, text = "timeout", "timeout"
		}
	case resp.StatusCode == http.StatusTooManyRequests:
		outcome = "rate_limited"
	case resp.StatusCode >= 500:
		outcome, failed, text = "http_error", true, fmt.Sprintf("status %d", resp.StatusCode)
	case resp.StatusCode >= 300:
		// 4xx, and a 3xx whose redirect was not followed: the endpoint answered, so it did not fail.
		outcome = "http_error"
	}
	if outcome == "cancelled" {
		// The client went away: the attempt says nothing about the endpoint, so like a local refusal it gives a
		// half-open breaker's trial back and leaves the endpoint's health alone. Recorded as a success, it would
		// end a run of failures and pass a half-open trial: clients that close their requests early could keep
		// a failing endpoint's breaker closed for everyone (issue 13).
		ep.breaker.Cancel()
	} else {
		ep.record(latency, failed, text, time.Now())
	}
	if m := h.metrics; m != nil {
		m.requests.WithLabelValues(h.cfg.Name, ep.name, outcome).Inc()
		m.latency.WithLabelValues(h.cfg.Name, ep.name).Observe(latency.Seconds())
	}
}

// use starts an attempt on ep.
func (h *HTTP) use(a *attempt, ep *endpoint) {
	a.ep, a.start = ep, time.Now()
	a.n++
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

// setHeader sets the header of an outgoing request: the source's headers, then req's, then the Accept
// header accept and a JSON Content-Type for a body, unless req set them.
func (h *HTTP) setHeader(header http.Header, req *Request, accept string) {
	for k, vs := range h.cfg.Headers {
		header[k] = vs
	}
	for k, vs := range req.Header {
		header[k] = vs
	}
	if header.Get("Accept") == "" {
		header.Set("Accept", accept)
	}
	if req.Body != nil && header.Get("Content-Type") == "" {
		header.Set("Content-Type", "application/json")
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

// Do implements Source: it picks an endpoint by the strategy, sends req with the source's headers and retries
// as RetryConfig says. A request that cannot be sent (an invalid method, path or header) fails at once with
// BAD_USER_INPUT and is never counted against the source's limits, retry budget or endpoints. It returns when
// ctx is done at the latest. Identical GET and HEAD requests in flight at the same time (same method, path,
// query, headers and body — so never across different credentials) are sent once and share the answer: the
// Response may be shared, callers must not modify it.
func (h *HTTP) Do(ctx context.Context, req *Request) (*Response, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	// A request that cannot be sent is the client's error, found before it takes a rate token, a concurrency
	// slot, a share of the retry budget or an endpoint (issue 13).
	if reason := checkRequest(method, req); reason != "" {
		h.reject("bad_request")
		return nil, &Error{Source: h.cfg.Name, Code: CodeBadInput, Method: method, Path: req.Path, Err: &wireError{msg: reason}}
	}
	if !*h.cfg.Dedup || (method != http.MethodGet && method != http.MethodHead) {
		return h.do(ctx, req, method)
	}
	key := RequestKey(method, req)
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
		return nil, ctxError(h.cfg.Name, method, req.Path, ctx.Err())
	}
}

// ctxError is the error of a request abandoned because its context is done: UPSTREAM_TIMEOUT past its deadline,
// UPSTREAM_UNAVAILABLE (wrapping context.Canceled) when its client went away.
func ctxError(source, method, path string, err error) *Error {
	e := &Error{Source: source, Code: CodeUnavailable, Method: method, Path: path, Err: err}
	if errors.Is(err, context.DeadlineExceeded) {
		e.Code, e.Err = CodeTimeout, &wireError{msg: "no answer before the deadline", err: err}
	}
	return e
}

// RequestKey identifies a request by everything that can change its answer: method, path, query, headers (so
// requests with different credentials never share a key) and body.
func RequestKey(method string, req *Request) string {
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
		if err := ctx.Err(); err != nil {
			return nil, ctxError(h.cfg.Name, method, req.Path, err)
		}
		return nil, &Error{Source: h.cfg.Name, Code: CodeRateLimited, Method: method, Path: req.Path, RetryAfter: retryAfter,
			Err: &wireError{msg: fmt.Sprintf("the %s limit of the source is reached", reason)}}
	}
	defer release()

	timeout := h.cfg.Timeout
	if req.Timeout > 0 && req.Timeout < timeout {
		timeout = req.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	a := &attempt{method: method, path: req.Path, query: req.Query.Encode(), retrySafe: req.RetrySafe}
	ep := h.pool.pick(nil)
	if ep == nil {
		h.reject("circuit_open")
		return fail(CodeCircuitOpen, 0, errNoEndpoint)
	}
	ctx = context.WithValue(ctx, attemptKey{}, a)

	var body any
	if req.Body != nil {
		body = req.Body
	}
	if req.Stream != nil {
		body = retryablehttp.ReaderFunc(func() (io.Reader, error) { return req.Stream(ctx) })
	}
	rr, err := retryablehttp.NewRequestWithContext(ctx, method, endpointURL(ep, a.path, a.query).String(), body)
	if err != nil {
		// Do checked the path, so this is not expected; if it happens, nothing was sent: the request is the
		// client's error and the endpoint gets its breaker's trial back.
		ep.breaker.Cancel()
		h.reject("bad_request")
		return fail(CodeBadInput, 0, &wireError{msg: "the request URL is not valid", err: err})
	}
	h.use(a, ep)
	h.setHeader(rr.Header, req, "application/json")
	resp, err := h.client.Do(rr)
	if err != nil {
		if resp != nil {
			// PassthroughErrorHandler hands back the last response with the error (the context ended as it
			// arrived): release its connection.
			drain(resp.Body)
		}
		if local := asLocal(err); local != nil {
			return fail(CodeBadInput, 0, &wireError{msg: local.reason, err: err})
		}
		switch {
		case a.blocked:
			h.reject("circuit_open")
			return fail(CodeCircuitOpen, 0, &wireError{msg: "the endpoint failed and every other endpoint's circuit breaker is open"})
		case ctx.Err() == context.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded):
			return fail(CodeTimeout, 0, &wireError{msg: fmt.Sprintf("no answer within %s", timeout), err: err})
		case errors.Is(err, context.Canceled):
			return fail(CodeUnavailable, 0, context.Canceled)
		}
		return fail(CodeUnavailable, 0, &wireError{msg: describe(err), err: err})
	}
	// Reading to EOF (below) lets the connection go back to the pool; an oversized or broken body is closed
	// unread, which drops its connection rather than reading megabytes nobody wants.
	defer resp.Body.Close()
	data, err := readBody(resp.Body, resp.ContentLength, h.cfg.MaxResponseBytes)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return fail(CodeTimeout, resp.StatusCode, &wireError{msg: fmt.Sprintf("body not read within %s", timeout), err: err})
		}
		return fail(CodeUnavailable, resp.StatusCode, &wireError{msg: "read body: " + describe(err), err: err})
	}
	if int64(len(data)) > h.cfg.MaxResponseBytes {
		return fail(CodeBadResponse, resp.StatusCode, &wireError{msg: fmt.Sprintf("response larger than %d bytes", h.cfg.MaxResponseBytes)})
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e := &Error{Source: h.cfg.Name, Code: CodeRateLimited, Status: resp.StatusCode, Method: method, Path: req.Path}
		e.RetryAfter = retryablehttp.DefaultBackoff(0, time.Hour, 0, resp)
		return nil, e
	case a.redirect != "" && resp.StatusCode >= 300 && resp.StatusCode <= 399:
		return fail(CodeHTTPError, resp.StatusCode, &wireError{
			msg: fmt.Sprintf("upstream answered HTTP %d: %s", resp.StatusCode, a.redirect), err: errRedirect})
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return fail(CodeHTTPError, resp.StatusCode, nil)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// drain reads what is left of a body (up to a limit) and closes it, so that its connection can be reused.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	body.Close()
}

// wireError says what failed in words safe for clients while keeping the cause — which may name the endpoint,
// as *url.Error does — for errors.Is and errors.As.
type wireError struct {
	msg string
	err error
}

func (e *wireError) Error() string { return e.msg }
func (e *wireError) Unwrap() error { return e.err }

// describe says what went wrong on the wire without naming the endpoint (hosts are not for clients).
func describe(err error) string {
	var (
		oe  *net.OpError
		dns *net.DNSError
	)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &dns):
		return "cannot resolve the backend's host"
	case errors.As(err, &oe) && oe.Op == "dial":
		return "cannot connect to the backend"
	case errors.Is(err, syscall.ECONNRESET) || strings.Contains(err.Error(), "connection reset"):
		return "connection reset by the backend"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the backend"
	}
	return "connection failed"
}

// readBody reads body, up to limit+1 bytes so that a longer one shows. A declared Content-Length within the limit
// sizes the buffer once, instead of the doubling of io.ReadAll, which allocates about twice a large body.
func readBody(body io.Reader, declared, limit int64) ([]byte, error) {
	r := io.LimitReader(body, limit+1)
	if declared <= 0 || declared > limit {
		return io.ReadAll(r)
	}
	buf := make([]byte, declared)
	if n, err := io.ReadFull(r, buf); err != nil {
		return buf[:n], err
	}
	// The transport ends the body at its declared length; anything more is still read, up to the limit.
	var one [1]byte
	n, err := r.Read(one[:])
	if n == 0 {
		if err == io.EOF {
			err = nil
		}
		return buf, err
	}
	rest, err := io.ReadAll(r)
	return append(append(buf, one[0]), rest...), err
}
