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
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// HTTPConfig configures an HTTP source. NewHTTP fills the zero values from DefaultHTTPConfig.
type HTTPConfig struct {
	// Name is the source's key in the configuration; it appears in errors.
	Name string
	// Endpoints are the base URLs (scheme, host and an optional path prefix).
	Endpoints []string
	// Strategy selects the endpoint of each attempt: "round_robin" or "failover" (the first endpoint, the next
	// one on a retry). "least_latency" and "weighted" are accepted and behave as round_robin until endpoint
	// health lands (issue 7).
	Strategy string
	// Timeout bounds one request, retries included.
	Timeout time.Duration
	Retry   RetryConfig
	// Headers are sent on every request.
	Headers http.Header
	// MaxResponseBytes caps a response body; a larger one fails with BAD_UPSTREAM_RESPONSE.
	MaxResponseBytes int64
}

// RetryConfig configures retries of idempotent requests.
type RetryConfig struct {
	// Attempts is the number of extra attempts after the first; 0 disables retries.
	Attempts int
	// Backoff is the base of the jittered exponential backoff between attempts.
	Backoff time.Duration
}

// DefaultHTTPConfig returns the defaults NewHTTP applies to zero fields.
func DefaultHTTPConfig() HTTPConfig {
	return HTTPConfig{Strategy: "round_robin", Timeout: 10 * time.Second, Retry: RetryConfig{Backoff: 25 * time.Millisecond},
		MaxResponseBytes: 16 << 20}
}

// maxBackoff caps one wait between attempts.
const maxBackoff = time.Second

// HTTP is a REST/JSON source. It is safe for concurrent use; Close releases its idle connections.
type HTTP struct {
	cfg       HTTPConfig
	endpoints []*url.URL
	client    *retryablehttp.Client
	transport *http.Transport
	next      atomic.Uint64
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

// NewHTTP validates cfg, fills its defaults and returns the source.
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
	if cfg.Retry.Attempts < 0 {
		return nil, fmt.Errorf("source %s: retry attempts must not be negative", cfg.Name)
	}
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("source %s: no endpoints", cfg.Name)
	}
	h := &HTTP{cfg: cfg, transport: NewTransport()}
	for _, e := range cfg.Endpoints {
		u, err := url.Parse(strings.TrimSuffix(e, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("source %s: endpoint %q is not an absolute http(s) URL without query", cfg.Name, e)
		}
		h.endpoints = append(h.endpoints, u)
	}
	h.client = &retryablehttp.Client{
		HTTPClient:   &http.Client{Transport: h.transport},
		Logger:       nil,
		RetryWaitMin: cfg.Retry.Backoff,
		RetryWaitMax: maxBackoff,
		RetryMax:     cfg.Retry.Attempts,
		CheckRetry:   CheckRetry,
		Backoff:      Backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		PrepareRetry: h.prepareRetry,
	}
	return h, nil
}

// Name implements Source.
func (h *HTTP) Name() string { return h.cfg.Name }

// Close closes the source's idle connections. In-flight requests finish; the source stays usable.
func (h *HTTP) Close() { h.transport.CloseIdleConnections() }

type attemptKey struct{}

// attempt carries one request's endpoint rotation through retryablehttp's hooks.
type attempt struct {
	path  string
	query string
	index int
}

// CheckRetry retries only idempotent requests, on connection errors and on 429, 502, 503 and 504, and never
// once the request's context is done.
func CheckRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if resp != nil && resp.Request != nil && !Idempotent(resp.Request.Method) {
		return false, nil
	}
	if err != nil {
		// A connection error: the request may not have reached the backend, and it is idempotent anyway.
		return true, nil
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, nil
	}
	return false, nil
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
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d := retryablehttp.DefaultBackoff(min, max, attemptNum, resp); d > 0 && resp.Header.Get("Retry-After") != "" {
			return d
		}
	}
	d := min << attemptNum
	if d <= 0 || d > max {
		d = max
	}
	// Full jitter between half and the whole wait spreads synchronized retries.
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// pick returns the endpoint index for an attempt.
func (h *HTTP) pick(prev int, retry bool) int {
	n := len(h.endpoints)
	switch {
	case n == 1:
		return 0
	case h.cfg.Strategy == "failover" && !retry:
		return 0
	case retry:
		return (prev + 1) % n
	}
	return int(h.next.Add(1)-1) % n
}

func (h *HTTP) url(i int, path, query string) string {
	base := h.endpoints[i]
	u := *base
	u.RawPath = base.EscapedPath() + path
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		p = u.RawPath
	}
	u.Path = p
	u.RawQuery = query
	return u.String()
}

// prepareRetry moves a retried request to the next endpoint.
func (h *HTTP) prepareRetry(req *http.Request) error {
	a, ok := req.Context().Value(attemptKey{}).(*attempt)
	if !ok {
		return nil
	}
	a.index = h.pick(a.index, true)
	u, err := url.Parse(h.url(a.index, a.path, a.query))
	if err != nil {
		return fmt.Errorf("retry url: %w", err)
	}
	req.URL = u
	req.Host = u.Host
	return nil
}

// Do implements Source.
func (h *HTTP) Do(ctx context.Context, req *Request) (*Response, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	fail := func(code Code, status int, err error) (*Response, error) {
		return nil, &Error{Source: h.cfg.Name, Code: code, Status: status, Method: method, Path: req.Path, Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	a := &attempt{path: req.Path, query: req.Query.Encode()}
	a.index = h.pick(0, false)
	ctx = context.WithValue(ctx, attemptKey{}, a)

	var body any
	if req.Body != nil {
		body = req.Body
	}
	rr, err := retryablehttp.NewRequestWithContext(ctx, method, h.url(a.index, a.path, a.query), body)
	if err != nil {
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
		case errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded:
			return fail(CodeTimeout, 0, fmt.Errorf("no answer within %s", h.cfg.Timeout))
		case errors.Is(err, context.Canceled):
			return fail(CodeUnavailable, 0, errors.New("request cancelled"))
		}
		return fail(CodeUnavailable, 0, errors.New(describe(err)))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, h.cfg.MaxResponseBytes+1))
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return fail(CodeTimeout, resp.StatusCode, fmt.Errorf("body not read within %s", h.cfg.Timeout))
		}
		return fail(CodeUnavailable, resp.StatusCode, fmt.Errorf("read body: %s", describe(err)))
	}
	if int64(len(data)) > h.cfg.MaxResponseBytes {
		return fail(CodeBadResponse, resp.StatusCode, fmt.Errorf("response larger than %d bytes", h.cfg.MaxResponseBytes))
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return fail(CodeRateLimited, resp.StatusCode, nil)
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
	case strings.Contains(err.Error(), "giving up after"):
		return "giving up after retries: connection failed"
	}
	return "connection failed"
}
