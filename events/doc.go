// Package events reads upstream event streams for subscriptions (issue 17): a GraphQL subscription over
// graphql-transport-ws or graphql-sse (distinct connections mode), a Server-Sent Events endpoint, or an endpoint
// polled until its answer changes. Each is a Stream: one consumer calls Next until io.EOF or an *Error.
//
// # Lifecycle
//
// SubscribeGraphQL, SubscribeSSE and Poll make their first connection (or first fetch) before they return, so a
// refusal reaches the caller as an error instead of as the stream's first failure (ctx.Err() when the caller's ctx
// ended meanwhile). Each stream then runs one goroutine (two for graphql-transport-ws) that the ctx given to the
// constructor bounds: cancelling it is the same as Close. Close cancels, waits for every goroutine and releases the
// upstream connection; after it, Next returns io.EOF.
//
// # Reconnecting
//
// A connection that drops (a read error, a close frame, an SSE body that ends) is re-made after a backoff that
// doubles from Reconnect.Backoff up to Reconnect.MaxBackoff, jittered to between half and all of it, and waited on
// with ctx. Reconnect.Attempts counts failed attempts in a row (a connection that fails, or one that drops before
// any event); an event resets the count; 0 never gives up. Giving up ends the stream with the last failure as an
// *Error: UPSTREAM_UNAVAILABLE for a connection, UPSTREAM_HTTP_ERROR with Status for an HTTP status. A GraphQL
// subscription resubscribes on each new connection; an SSE reconnection sends Last-Event-ID and honours the
// server's retry: within Reconnect's bounds.
//
// What is not a drop: an upstream `complete` ends the stream with io.EOF; an upstream `error` message ends it with
// UPSTREAM_GRAPHQL_ERROR; an answer that breaks the protocol or an event larger than MaxEventBytes ends it with
// BAD_UPSTREAM_RESPONSE; an HTTP 4xx status other than 408 and 429 (or a graphql-transport-ws close code 44xx,
// which mirrors one) ends it with UPSTREAM_HTTP_ERROR. None of these are retried.
//
// # Memory
//
// Every read is bounded: an event (a WebSocket message, an SSE event's lines) larger than MaxEventBytes fails the
// stream instead of being read whole. A stream hands each event to Next directly (an unbuffered hand-off, so a slow
// consumer slows the upstream reads); NewBuffer decouples the two with a buffer of a fixed number of events and an
// overflow action.
package events
