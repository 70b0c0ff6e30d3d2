package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"
)

// The graphql-sse protocol's distinct connections mode (github.com/enisdenjo/graphql-sse, PROTOCOL.md): the client
// POSTs the GraphQL request with Accept: text/event-stream; the server answers an event stream of `next` events
// (each an execution result, validation errors included) and a last `complete` event.

// sseClient makes the requests of one graphql-sse subscription.
type sseClient struct {
	cfg  GraphQLConfig
	body []byte // the GraphQL request
}

func subscribeGraphQLSSE(ctx context.Context, cfg GraphQLConfig, request []byte) (Stream, error) {
	c := &sseClient{cfg: cfg, body: request}
	return subscribeGraphQLWith(ctx, cfg, c.dial)
}

// dial POSTs the subscription and waits, within ConnectTimeout, for a 2xx text/event-stream answer.
func (c *sseClient) dial(ctx context.Context) (session, error) {
	rctx, rcancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.cfg.URL, bytes.NewReader(c.body))
	if err != nil {
		rcancel()
		return nil, &Error{Code: CodeUnavailable, Err: fmt.Errorf("graphql-sse: %w", err)}
	}
	for k, v := range c.cfg.Header {
		req.Header[k] = append([]string(nil), v...)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")

	timer := time.AfterFunc(c.cfg.ConnectTimeout, rcancel)
	resp, err := c.cfg.Client.Do(req)
	if !timer.Stop() {
		if err == nil {
			_ = resp.Body.Close()
		}
		rcancel()
		return nil, fmt.Errorf("graphql-sse: no response within %s", c.cfg.ConnectTimeout)
	}
	if err != nil {
		rcancel()
		return nil, fmt.Errorf("graphql-sse: %w", err)
	}
	if err := c.check(resp); err != nil {
		_ = resp.Body.Close()
		rcancel()
		return nil, err
	}
	return c.session(resp.Body, rcancel), nil
}

// check accepts a 2xx text/event-stream answer. A JSON answer with GraphQL errors (a server that refused the
// request outside the stream) is UPSTREAM_GRAPHQL_ERROR.
func (c *sseClient) check(resp *http.Response) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &Error{Code: CodeHTTPError, Status: resp.StatusCode, Err: fmt.Errorf("graphql-sse: upstream answered HTTP %d", resp.StatusCode)}
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch mt {
	case "text/event-stream":
		return nil
	case "application/json", "application/graphql-response+json":
		b, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxEventBytes+1))
		if err == nil && int64(len(b)) > c.cfg.MaxEventBytes {
			return tooBig(c.cfg.MaxEventBytes)
		}
		var answer struct {
			Errors json.RawMessage `json:"errors"`
		}
		if err == nil && json.Unmarshal(b, &answer) == nil && len(answer.Errors) > 0 && answer.Errors[0] == '[' {
			return graphQLError(answer.Errors)
		}
	}
	return &Error{Code: CodeBadResponse, Err: fmt.Errorf("graphql-sse: upstream answered %q, not text/event-stream", mt)}
}

// session reads the event stream until `complete`, the end of the body, or ctx.
func (c *sseClient) session(body io.ReadCloser, cancel context.CancelFunc) session {
	return func(ctx context.Context, p *pipe) (got bool, err error) {
		stop := context.AfterFunc(ctx, func() { _ = body.Close() })
		defer func() {
			stop()
			_ = body.Close()
			cancel()
		}()
		r := newSSEReader(body, c.cfg.MaxEventBytes)
		for {
			ev, err := r.next()
			if err != nil {
				if err == io.EOF {
					err = errors.New("graphql-sse: the event stream ended before complete")
				}
				return got, err
			}
			switch ev.event {
			case "next":
				if !ev.hasData || len(ev.data) == 0 || ev.data[0] != '{' || !json.Valid(ev.data) {
					return got, &Error{Code: CodeBadResponse, Err: errors.New("graphql-sse: a next event without an execution result")}
				}
				got = true
				if !p.send(ctx, ev.data) {
					return got, ctx.Err()
				}
			case "complete":
				return got, io.EOF
			}
		}
	}
}
