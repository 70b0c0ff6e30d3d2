// Package sources owns every byte that leaves the process towards a backend: the transports (HTTP, static),
// their endpoint selection, timeouts and retries. A Source is built once per configuration version and is safe
// for concurrent use by every request served on that version.
package sources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Request is one fully rendered call to a backend. The resolvers package renders it from a binding; a Source
// only picks an endpoint and sends it.
type Request struct {
	// Method is the HTTP method; empty means GET.
	Method string
	// Path is relative to the endpoint's base URL and already escaped segment by segment; it starts with "/"
	// (or is empty for the base URL itself); HTTP.Do refuses any other with BAD_USER_INPUT.
	Path string
	// Query holds the query parameters; a key with several values is repeated (?id=1&id=2).
	Query url.Values
	// Header holds the headers to send in addition to the source's own. Values must not hold control
	// characters other than tab (HTTP.Do refuses them with BAD_USER_INPUT).
	Header http.Header
	// Body is the request body (JSON), nil for none.
	Body []byte
	// Stream, when set, is the body instead of Body (a multipart upload, issue 17; its Content-Type goes in
	// Header): called for each attempt, it returns a fresh reader of the whole body, which stops when ctx ends.
	// Such a request is never deduplicated (its method is never GET or HEAD).
	Stream func(ctx context.Context) (io.ReadCloser, error)
	// Timeout, when set and shorter than the source's, bounds this request (a binding's own timeout).
	Timeout time.Duration
	// RetrySafe allows retries of a request whose method is not idempotent (a binding that says so).
	RetrySafe bool
}

// Response is a backend's answer with a successful (2xx) status. Body is read completely. A Response may be
// shared by several callers (deduplicated HTTP requests, a static source's every call): treat it as read-only.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Source sends requests to one configured backend. Implementations are safe for concurrent use.
type Source interface {
	// Name is the source's key in the configuration.
	Name() string
	// Do sends req and returns the response, or an *Error saying why there is none. Do never outlives ctx.
	Do(ctx context.Context, req *Request) (*Response, error)
}

// Code classifies a failed call for clients; it is reported as extensions.code of the GraphQL error.
type Code string

// The codes a fetch failure can carry (DESIGN.md, Errors).
const (
	CodeHTTPError   Code = "UPSTREAM_HTTP_ERROR"
	CodeTimeout     Code = "UPSTREAM_TIMEOUT"
	CodeUnavailable Code = "UPSTREAM_UNAVAILABLE"
	CodeCircuitOpen Code = "CIRCUIT_OPEN"
	CodeRateLimited Code = "RATE_LIMITED"
	CodeBadResponse Code = "BAD_UPSTREAM_RESPONSE"
	// CodeBadInput is a request Conflux refuses to send because the client's input made it invalid (a header
	// value with a control character, a path that is not a valid escaped path). It never reaches a backend and
	// never counts against an endpoint's health, breaker, latency or the source's limits (issue 13).
	CodeBadInput Code = "BAD_USER_INPUT"
)

// Error is a failed call to a source. Its two messages serve two readers: Error() is for logs and metrics and
// names the source, the method and the path of the backend call (never an endpoint's host or a credential);
// PublicMessage is for clients and names only the source and what went wrong (issue 13: backend paths and
// methods stay out of client answers unless the operator asks for them).
type Error struct {
	Source string
	Code   Code
	// Status is the upstream HTTP status, 0 when there was none.
	Status int
	Method string
	Path   string
	// RetryAfter, when set, is when the client may try again (RATE_LIMITED).
	RetryAfter time.Duration
	// Err is the cause. Its message is shown to clients only when it is a wireError (made by this package with
	// words safe for clients); any other cause, such as a decoding error that may quote the backend's answer,
	// stays in Error().
	Err error
}

func (e *Error) Error() string {
	what := e.Source
	if e.Method != "" {
		what = strings.TrimSpace(fmt.Sprintf("%s %s %s", e.Method, e.Source, e.Path))
	}
	switch {
	case e.Err != nil:
		return fmt.Sprintf("%s: %s", what, e.Err.Error())
	case e.Status != 0:
		return fmt.Sprintf("%s: status %d", what, e.Status)
	}
	return fmt.Sprintf("%s: %s", what, e.Code)
}

// PublicMessage is the message for clients: "crm: upstream answered HTTP 503", "crm: no answer within 800ms".
// It never shows the backend's method, path, host or answer, which Error() keeps for logs.
func (e *Error) PublicMessage() string {
	var we *wireError
	if errors.As(e.Err, &we) {
		return e.Source + ": " + we.msg
	}
	var what string
	switch e.Code {
	case CodeHTTPError:
		what = "upstream answered with an error"
		if e.Status != 0 {
			what = "upstream answered HTTP " + strconv.Itoa(e.Status)
		}
	case CodeRateLimited:
		what = "rate limited"
		if e.Status != 0 {
			what = "upstream answered HTTP " + strconv.Itoa(e.Status) + " (rate limited)"
		}
	case CodeTimeout:
		what = "no answer before the deadline"
	case CodeUnavailable:
		what = "upstream unavailable"
		if errors.Is(e.Err, context.Canceled) {
			what = "request cancelled"
		}
	case CodeCircuitOpen:
		what = "every endpoint's circuit breaker is open"
	case CodeBadResponse:
		what = "upstream answer cannot be used"
	case CodeBadInput:
		what = "the request cannot be sent"
	default:
		what = string(e.Code)
	}
	return e.Source + ": " + what
}

func (e *Error) Unwrap() error { return e.Err }

// AsError returns err's *Error, or wraps err as an UPSTREAM_UNAVAILABLE error of source when it has none.
func AsError(source string, err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	return &Error{Source: source, Code: CodeUnavailable, Err: err}
}
