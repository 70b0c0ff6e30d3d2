package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"
)

// Stream yields one subscription's events in order. Not safe for concurrent use: one consumer calls Next; Close
// may be called from any goroutine, also while Next blocks.
type Stream interface {
	// Next blocks until the next event, the end of the stream (io.EOF), a failure (*Error), or ctx is done
	// (ctx.Err()). The event is the caller's to keep. After io.EOF or an *Error, Next keeps returning it.
	Next(ctx context.Context) ([]byte, error)
	// Close ends the stream and waits for its goroutines; idempotent; Next then returns io.EOF.
	Close()
}

// Codes of Error, the extensions.code a client sees.
const (
	// CodeUnavailable: the upstream could not be reached, or its connection kept dropping, and reconnecting gave up.
	CodeUnavailable = "UPSTREAM_UNAVAILABLE"
	// CodeHTTPError: the upstream answered an HTTP error status (Error.Status), or closed a graphql-transport-ws
	// connection with a 44xx/45xx code (Status is the code minus 4000, as the protocol mirrors HTTP statuses).
	CodeHTTPError = "UPSTREAM_HTTP_ERROR"
	// CodeBadResponse: the upstream broke its protocol, or sent an event larger than MaxEventBytes.
	CodeBadResponse = "BAD_UPSTREAM_RESPONSE"
	// CodeOverflow: a Buffer with overflow action close was full when an event arrived.
	CodeOverflow = "SUBSCRIPTION_OVERFLOW"
	// CodeGraphQLError: the upstream ended the subscription with a graphql-transport-ws `error` message; Err's text
	// is its errors' messages, joined by "; ".
	CodeGraphQLError = "UPSTREAM_GRAPHQL_ERROR"
)

// DefaultMaxEventBytes is the largest event when a config's MaxEventBytes is 0.
const DefaultMaxEventBytes = 1 << 20

// Error is a stream's failure: Code is UPSTREAM_UNAVAILABLE, UPSTREAM_HTTP_ERROR, BAD_UPSTREAM_RESPONSE,
// SUBSCRIPTION_OVERFLOW or UPSTREAM_GRAPHQL_ERROR; Status the HTTP status when there is one; Err the cause.
//
// SSEConfig.Open and PollConfig.Fetch return an *Error to say what failed (typically UPSTREAM_HTTP_ERROR with the
// Status of a non-2xx answer); any other error they return counts as UPSTREAM_UNAVAILABLE.
type Error struct {
	Code   string
	Status int
	Err    error
}

func (e *Error) Error() string {
	msg := e.Code
	if e.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Reconnect is how a dropped connection (or a failed poll) is retried. Backoff doubles from Backoff up to
// MaxBackoff, per attempt in a row whose connection lasted less than MaxBackoff, and is jittered to between half
// and all of it; Attempts counts failures in a row (without an event) before giving up (0 = never give up). Backoff <= 0 is 250ms, MaxBackoff <= 0 is 5s, and MaxBackoff is at least Backoff.
type Reconnect struct {
	Attempts            int
	Backoff, MaxBackoff time.Duration
}

// DefaultReconnect is {Attempts: 5, Backoff: 250ms, MaxBackoff: 5s}.
func DefaultReconnect() Reconnect {
	return Reconnect{Attempts: 5, Backoff: 250 * time.Millisecond, MaxBackoff: 5 * time.Second}
}

func (r Reconnect) normalized() Reconnect {
	d := DefaultReconnect()
	if r.Attempts < 0 {
		r.Attempts = 0
	}
	if r.Backoff <= 0 {
		r.Backoff = d.Backoff
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = d.MaxBackoff
	}
	if r.MaxBackoff < r.Backoff {
		r.MaxBackoff = r.Backoff
	}
	return r
}

// ceiling is the delay before the n-th attempt in a row (n >= 1) before jitter: base doubled n-1 times, capped at
// MaxBackoff. base is Backoff, or an SSE server's retry: clamped to [Backoff, MaxBackoff].
func (r Reconnect) ceiling(n int, base time.Duration) time.Duration {
	d := min(max(base, r.Backoff), r.MaxBackoff)
	for i := 1; i < n && d < r.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, r.MaxBackoff)
}

// delay is ceiling jittered to [ceiling/2, ceiling], so that the streams a restarted upstream dropped all at once
// do not come back all at once.
func (r Reconnect) delay(n int, base time.Duration) time.Duration {
	c := r.ceiling(n, base)
	half := c / 2
	return half + rand.N(c-half+1)
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// asError is err as an *Error: itself when it is one, else UPSTREAM_UNAVAILABLE.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeUnavailable, Err: err}
}

// firstError is the error of a stream's first connection: ctx.Err() when the caller's ctx ended, else an *Error.
func firstError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return asError(err)
}

// retryable reports whether a failed connection is worth making again: one that could not connect or dropped, or
// an HTTP status that says "later" (5xx, 408, 429). Other statuses, protocol violations, upstream GraphQL errors
// and oversized events stay what they are on the next attempt.
func retryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return true
	}
	switch e.Code {
	case CodeUnavailable:
		return true
	case CodeHTTPError:
		return e.Status >= 500 || e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests
	}
	return false
}

// giveUp is the error that ends a stream after failures attempts in a row failed, the last with last.
func giveUp(last error, failures int) error {
	e := asError(last)
	return &Error{Code: e.Code, Status: e.Status, Err: fmt.Errorf("giving up after %d attempts in a row: %w", failures, e.Err)}
}

// session serves one upstream connection until it ends, handing its events to the pipe. It reports whether at
// least one event arrived (which resets the count of failures) and why the connection ended: io.EOF when the
// upstream completed the stream, a non-retryable *Error when the stream must end, anything else is a drop.
type session func(ctx context.Context, p *pipe) (gotEvent bool, err error)

// dialer makes a new connection and returns the session serving it.
type dialer func(ctx context.Context) (session, error)

// reconnecting serves first, then re-makes the connection with dial each time it drops, as r says; it returns
// why the stream ended. base gives the backoff base before each attempt (Backoff, or an SSE server's retry:);
// onReconnect (may be nil) is called before each attempt.
//
// Giving up counts the attempts in a row without an event (Reconnect.Attempts); the backoff grows with the
// attempts in a row whose connection lasted less than MaxBackoff, event or not, so that an upstream that drops
// each connection right after an event is not reconnected to every Backoff by every stream.
func reconnecting(ctx context.Context, p *pipe, first session, dial dialer, r Reconnect, base func() time.Duration, onReconnect func()) error {
	failures, short := 0, 0
	s := first
	for {
		began := time.Now()
		got, err := s(ctx, p)
		if ctx.Err() != nil {
			return io.EOF
		}
		if err == io.EOF {
			return io.EOF
		}
		if !retryable(err) {
			return asError(err)
		}
		if got {
			failures = 0
		} else {
			failures++
		}
		if time.Since(began) >= r.MaxBackoff {
			short = 0
		}
		short++
		last := err
		for {
			if r.Attempts > 0 && failures >= r.Attempts {
				return giveUp(last, failures)
			}
			if !sleep(ctx, r.delay(short, base())) {
				return io.EOF
			}
			if onReconnect != nil {
				onReconnect()
			}
			s, err = dial(ctx)
			if err == nil {
				break
			}
			if ctx.Err() != nil || err == io.EOF {
				return io.EOF
			}
			if !retryable(err) {
				return asError(err)
			}
			failures++
			short++
			last = err
		}
	}
}

// pipe is the Stream every reader implements: its goroutine hands events to Next through an unbuffered channel,
// so the reader holds at most the one event being handed over.
type pipe struct {
	events chan []byte
	done   chan struct{} // closed when the goroutine has returned; err is set before
	err    error
	stop   <-chan struct{} // the stream's ctx.Done(): once closed, Next returns how the stream ended
	cancel context.CancelFunc
	closed atomic.Bool
}

// start runs run in a goroutine bound by ctx (which cancel cancels) and returns the Stream reading its events.
// run returns why the stream ended; when ctx is done the stream ends with io.EOF whatever run returns.
func start(ctx context.Context, cancel context.CancelFunc, run func(ctx context.Context, p *pipe) error) *pipe {
	p := &pipe{events: make(chan []byte), done: make(chan struct{}), stop: ctx.Done(), cancel: cancel}
	go func() {
		defer close(p.done)
		defer cancel()
		err := run(ctx, p)
		if err == nil || ctx.Err() != nil {
			err = io.EOF
		}
		p.err = err
	}()
	return p
}

// send hands ev to Next; it reports false when ctx ended first.
func (p *pipe) send(ctx context.Context, ev []byte) bool {
	select {
	case p.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

func (p *pipe) Next(ctx context.Context) ([]byte, error) {
	if p.closed.Load() {
		return nil, io.EOF
	}
	select {
	case <-p.stop:
		// Ended (or ending): what ended it, never an event the goroutine still offers.
		select {
		case <-p.done:
			return nil, p.ended()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	default:
	}
	select {
	case ev := <-p.events:
		return ev, nil
	case <-p.done:
		return nil, p.ended()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ended is why the stream ended, once its goroutine has returned: io.EOF after Close, else what run returned.
func (p *pipe) ended() error {
	if p.closed.Load() {
		return io.EOF
	}
	return p.err
}

func (p *pipe) Close() {
	p.closed.Store(true)
	p.cancel()
	<-p.done
}

// maxBytes is n, or DefaultMaxEventBytes when n <= 0.
func maxBytes(n int64) int64 {
	if n <= 0 {
		return DefaultMaxEventBytes
	}
	return n
}

// tooBig is the failure of an event larger than max bytes.
func tooBig(max int64) error {
	return &Error{Code: CodeBadResponse, Err: fmt.Errorf("an event is larger than %d bytes", max)}
}
