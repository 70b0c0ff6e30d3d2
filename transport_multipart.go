package main

import (
	"context"
	"mime"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
)

// Incremental delivery over multipart/mixed (issue 17), as Apollo Client speaks it (deferSpec=20220824): a POST
// or GET /graphql whose Accept names multipart/mixed (`multipart/mixed;deferSpec=20220824,application/json` is
// what Apollo Client sends) is marked for incremental delivery (graph.WithIncremental). A query or mutation with
// an active @defer or @stream is then answered with
//
//	Content-Type: multipart/mixed; boundary="-"; deferSpec=20220824
//
// and, for each payload, `\r\n---\r\nContent-Type: application/json; charset=utf-8\r\n\r\n<json>` (the initial
// payload {"data":…,"hasNext":true}, then {"incremental":[…],"hasNext":…}), closed by `\r\n-----\r\n`, each part
// flushed as it is ready. An operation answered in one piece (no @defer/@stream, or a request error) gets the one
// JSON body a client accepting only application/json gets.
//
// Subscriptions over multipart/mixed follow Apollo's multipart HTTP protocol for subscriptions
// (https://www.apollographql.com/docs/router/executing-operations/subscription-multipart-protocol), which Apollo
// Client's HttpLink speaks: a client that sends `Accept: multipart/mixed;subscriptionSpec=1.0` (quoted or not)
// gets `Content-Type: multipart/mixed;boundary="graphql";subscriptionSpec="1.0"` and, each in a part with
// `content-type: application/json`: `{}` at once and every server.subscriptions.keepAlive (heartbeats), and
// `{"payload":<response>}` per event (the engine's SUBSCRIPTION_CLOSED, OVERFLOW or upstream failure is such a
// payload, with data null and the error), then the closing delimiter `--graphql--`. Without subscriptionSpec a
// subscription over multipart/mixed is refused with 400 BAD_REQUEST.

// multipartContentType is the Content-Type of a multipart/mixed answer.
const multipartContentType = `multipart/mixed; boundary="-"; deferSpec=20220824`

// The wire format above, cut where a client can parse each payload as soon as it arrives: a multipart client
// knows a part has ended when it sees the next delimiter, so each payload is written (and flushed) with the
// delimiter that follows it, and the closing delimiter's "--" comes last. The bytes are the same.
var (
	multipartDelimiter = []byte("\r\n---")
	multipartPartHead  = []byte("\r\nContent-Type: application/json; charset=utf-8\r\n\r\n")
	multipartClose     = []byte("--\r\n")
)

// serveMultipart writes first, an initial payload, and the further payloads of responses as multipart/mixed
// parts, until responses returns nil or the client leaves.
func serveMultipart(ctx context.Context, w http.ResponseWriter, first *graphql.Response, responses graphql.ResponseHandler,
	cfg streamConfig, reg *streams) {
	sw := startStream(w, multipartContentType, cfg)
	lead := multipartDelimiter
	for resp := first; resp != nil; resp = responses(ctx) {
		if sw.write(lead, multipartPartHead, encodePayload(resp), multipartDelimiter) != nil {
			return
		}
		lead = nil
		reg.sent(transportMultipart)
	}
	_ = sw.write(multipartClose)
}

// multipartSubscriptions reports whether accept asks for Apollo's multipart subscriptions: a multipart/mixed
// entry with a subscriptionSpec parameter.
func multipartSubscriptions(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && strings.EqualFold(mt, "multipart/mixed") && params["subscriptionspec"] != "" {
			return true
		}
	}
	return false
}

// Apollo's multipart subscription parts, cut as multipart/mixed's above: each part is written with the
// delimiter that follows it.
var (
	subscriptionDelimiter = []byte("\r\n--graphql")
	subscriptionPartHead  = []byte("\r\ncontent-type: application/json\r\n\r\n")
)

// serveMultipartSubscription writes a subscription's events as Apollo's multipart subscription parts until
// responses returns nil or the client leaves, with a heartbeat part at once and every cfg.keepAlive while idle.
func serveMultipartSubscription(ctx context.Context, w http.ResponseWriter, responses graphql.ResponseHandler, cfg streamConfig, reg *streams) {
	sw := startStream(w, `multipart/mixed;boundary="graphql";subscriptionSpec="1.0"`, cfg)
	heartbeat := func() error { return sw.write(subscriptionPartHead, []byte("{}"), subscriptionDelimiter) }
	if sw.write(subscriptionDelimiter) != nil || heartbeat() != nil {
		return
	}
	next := func(resp *graphql.Response) error {
		if err := sw.write(subscriptionPartHead, []byte(`{"payload":`), encodePayload(resp), []byte("}"), subscriptionDelimiter); err != nil {
			return err
		}
		reg.sent(transportMultipart)
		return nil
	}
	if pumpEach(ctx, responses, cfg.keepAlive, next, heartbeat) {
		_ = sw.write(multipartClose)
	}
}
