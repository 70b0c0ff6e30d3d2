package sources

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Streamer is a source that opens long-lived requests whose body is read as it arrives (Server-Sent Events,
// issue 17). Such a request is bounded by its context, and by the source's timeout only until its answer's
// headers arrive, never after; it is neither retried nor deduplicated: the caller reconnects.
type Streamer interface {
	Source
	// Open sends req to the source's first healthy endpoint with the source's headers and returns the body of
	// a 2xx answer, which the caller reads until it closes it or ctx ends. A failure is an *Error
	// (UPSTREAM_TIMEOUT when the answer's headers do not come within the source's timeout).
	Open(ctx context.Context, req *Request) (io.ReadCloser, error)
	// StreamClient is an HTTP client for the source's long-lived requests made elsewhere (a WebSocket
	// handshake, a graphql-sse stream): its transport and redirect policy, without a timeout.
	StreamClient() *http.Client
}

var _ Streamer = (*HTTP)(nil)

// Open implements Streamer.
func (h *HTTP) Open(ctx context.Context, req *Request) (io.ReadCloser, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	fail := func(code Code, status int, err error) (io.ReadCloser, error) {
		return nil, &Error{Source: h.cfg.Name, Code: code, Status: status, Method: method, Path: req.Path, Err: err}
	}
	if reason := checkRequest(method, req); reason != "" {
		return fail(CodeBadInput, 0, &wireError{msg: reason})
	}
	ep := h.pool.pick(nil)
	if ep == nil {
		return fail(CodeCircuitOpen, 0, &wireError{msg: errNoEndpoint.Error(), err: errNoEndpoint})
	}
	// A stream is no trial of the endpoint's health: it may last hours.
	ep.breaker.Cancel()
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	// The source's timeout bounds the wait for the answer's headers (an upstream that accepts the connection and
	// never answers), never the stream: rcancel is the body's to call once the answer has come.
	rctx, rcancel := context.WithCancel(ctx)
	r, err := http.NewRequestWithContext(rctx, method, endpointURL(ep, req.Path, req.Query.Encode()).String(), body)
	if err != nil {
		rcancel()
		return fail(CodeBadInput, 0, &wireError{msg: "the request URL is not valid", err: err})
	}
	h.setHeader(r.Header, req, "text/event-stream")
	var timer *time.Timer
	if t := h.cfg.Timeout; t > 0 {
		timer = time.AfterFunc(t, rcancel)
	}
	resp, err := h.StreamClient().Do(r)
	if timer != nil && !timer.Stop() {
		// The timeout fired: no answer in time (or one that came just too late, whose body is cancelled).
		if err == nil {
			_ = resp.Body.Close()
		}
		rcancel()
		if ctx.Err() != nil {
			return fail(CodeUnavailable, 0, ctx.Err())
		}
		return fail(CodeTimeout, 0, &wireError{msg: fmt.Sprintf("no answer within %s", h.cfg.Timeout), err: context.DeadlineExceeded})
	}
	if err != nil {
		rcancel()
		if ctx.Err() != nil {
			return fail(CodeUnavailable, 0, ctx.Err())
		}
		return fail(CodeUnavailable, 0, &wireError{msg: describe(err), err: err})
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		drain(resp.Body)
		rcancel()
		return fail(CodeHTTPError, resp.StatusCode, &wireError{msg: fmt.Sprintf("upstream answered HTTP %d", resp.StatusCode)})
	}
	return &streamBody{ReadCloser: resp.Body, cancel: rcancel}, nil
}

// streamBody is a stream's body; closing it ends its request.
type streamBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *streamBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// StreamClient implements Streamer.
func (h *HTTP) StreamClient() *http.Client { return h.client.HTTPClient }
