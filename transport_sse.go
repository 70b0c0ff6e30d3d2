package main

import (
	"context"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// mediaEventStream is the media type of Server-Sent Events.
const mediaEventStream = "text/event-stream"

// GraphQL over Server-Sent Events (issue 17), graphql-sse's "distinct connections mode"
// (https://github.com/enisdenjo/graphql-sse/blob/master/PROTOCOL.md): a POST /graphql with a JSON body, or a GET
// /graphql with the query in the URL, whose Accept names text/event-stream, is answered with one event stream for
// its one operation. Subscriptions (over GET too), and queries and mutations with @defer/@stream, are served
// this way; a query without them is one next event.
//
//   - each payload: `event: next` and `data: <json>` (a subscription's event, or an initial or subsequent payload
//     of incremental delivery), flushed at once;
//   - at the end: `event: complete` with an empty data;
//   - while no payload is due, a `:` comment line every server.subscriptions.keepAlive, so that proxies and the
//     client see a live connection;
//   - a request error (the operation cannot be parsed or validated, its variables do not fit, a subscription is
//     over server.subscriptions.max, the engine refuses its plan) is an event stream too, with status 200: one
//     next event with the errors (no data), then complete. graphql-sse's PROTOCOL.md says so (validation errors
//     MUST come through an accepted event stream: a 400 fails an EventSource with nothing to show) and its
//     reference handler does so. A request that is not a GraphQL request at all (a body that is not JSON, no
//     query) is 400, and a mutation over GET 405, with the JSON answer any other POST or GET gets, as the
//     reference handler answers them.
//
// The client going away (its connection closes) cancels the operation; the engine then releases everything.

// serveSSE writes the operation's payloads as an event stream, first (the handler's first response, already
// taken) and then each further one of responses until it returns nil or the client leaves.
func serveSSE(ctx context.Context, w http.ResponseWriter, first *graphql.Response, responses graphql.ResponseHandler,
	cfg streamConfig, reg *streams) {
	w.Header().Set("X-Accel-Buffering", "no") // nginx: pass the events on as they come
	sw := startStream(w, mediaEventStream+"; charset=utf-8", cfg)
	next := func(resp *graphql.Response) error {
		if err := sw.write([]byte("event: next\ndata: "), encodePayload(resp), []byte("\n\n")); err != nil {
			return err
		}
		reg.sent(transportSSE)
		return nil
	}
	if first == nil {
		if sw.write() != nil { // the head, at once
			return
		}
	} else if next(first) != nil {
		return
	}
	if pumpEach(ctx, responses, cfg.keepAlive, next, func() error { return sw.write([]byte(":\n\n")) }) {
		_ = sw.write([]byte("event: complete\ndata:\n\n"))
	}
}

// serveSSEError answers a request error (resp, the errors alone) as an event stream: one next event, then
// complete.
func serveSSEError(ctx context.Context, w http.ResponseWriter, resp *graphql.Response, cfg streamConfig, reg *streams) {
	serveSSE(ctx, w, resp, func(context.Context) *graphql.Response { return nil }, cfg, reg)
}

// pumpEach passes each response of responses to next, and calls tick every keepAlive (0: never) while none
// comes, until responses returns nil (it then reports true), next or tick fails, or ctx is done. It waits for
// the goroutine it starts.
func pumpEach(ctx context.Context, responses graphql.ResponseHandler, keepAlive time.Duration,
	next func(*graphql.Response) error, tick func() error) (ended bool) {
	var ticks <-chan time.Time
	if keepAlive > 0 {
		t := time.NewTicker(keepAlive)
		defer t.Stop()
		ticks = t.C
	}
	ctx, cancel := context.WithCancel(ctx)
	events := pump(ctx, responses)
	defer func() {
		cancel()
		for range events { // wait for the pump
		}
	}()
	for {
		select {
		case resp, ok := <-events:
			if !ok {
				return true
			}
			if next(resp) != nil {
				return false
			}
		case <-ticks:
			if tick() != nil {
				return false
			}
		}
	}
}

// pump calls responses in a goroutine of its own until it returns nil or ctx is done, and passes each response
// on; the channel is closed when the goroutine ends. The caller cancels ctx and drains the channel to end it.
func pump(ctx context.Context, responses graphql.ResponseHandler) <-chan *graphql.Response {
	ch := make(chan *graphql.Response)
	go func() {
		defer close(ch)
		for {
			resp := responses(ctx)
			if resp == nil {
				return
			}
			select {
			case ch <- resp:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}
