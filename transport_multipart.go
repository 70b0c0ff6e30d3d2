package main

import (
	"context"
	"net/http"

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
// JSON body a client accepting only application/json gets. Subscriptions are not served over multipart/mixed
// (WebSocket or SSE serve them): such a request is refused with 400 BAD_REQUEST.

// multipartContentType is the Content-Type of a multipart/mixed answer.
const multipartContentType = `multipart/mixed; boundary="-"; deferSpec=20220824`

var (
	multipartPartHead = []byte("\r\n---\r\nContent-Type: application/json; charset=utf-8\r\n\r\n")
	multipartEnd      = []byte("\r\n-----\r\n")
)

// serveMultipart writes first, an initial payload, and the further payloads of responses as multipart/mixed
// parts, until responses returns nil or the client leaves.
func serveMultipart(ctx context.Context, w http.ResponseWriter, first *graphql.Response, responses graphql.ResponseHandler,
	cfg streamConfig, reg *streams) {
	h := w.Header()
	h.Set("Content-Type", multipartContentType)
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	sw := newStreamWriter(w, cfg.writeTimeout)
	for resp := first; resp != nil; resp = responses(ctx) {
		if sw.write(multipartPartHead, encodePayload(resp)) != nil {
			return
		}
		reg.sent(transportMultipart)
	}
	_ = sw.write(multipartEnd)
}
