package graph

import (
	"context"
	"encoding/json"

	"github.com/99designs/gqlgen/graphql"
)

// Incremental delivery (issue 17): the contract between the engine and the transports.
//
// A transport whose client accepts incremental delivery (multipart/mixed, text/event-stream, a WebSocket) marks
// the request's context with WithIncremental before dispatching the operation. For such a request, an operation
// with an active @defer or @stream answers through the handler Exec returns:
//
//   - first call: the initial payload, a Response with Data, Errors and HasNext true;
//   - each further call: a subsequent payload, for which Subsequent reports true and gives the JSON array of its
//     incremental entries ({"data":…,"path":[…],"label":…,"errors":[…]} for a deferred fragment,
//     {"items":[…],"path":[…],"errors":[…]} for streamed list items), with HasNext set; the last has HasNext false;
//   - then nil.
//
// An operation without @defer/@stream, or any operation of a request not marked, answers with one complete
// Response (HasNext nil) and then nil, as before: deferred fragments are then written in place.

type incrementalKey struct{}

// WithIncremental marks ctx as the context of a request whose client accepts incremental delivery.
func WithIncremental(ctx context.Context) context.Context {
	return context.WithValue(ctx, incrementalKey{}, true)
}

// incremental reports whether ctx was marked by WithIncremental.
func incremental(ctx context.Context) bool {
	v, _ := ctx.Value(incrementalKey{}).(bool)
	return v
}

// subsequentLabel marks a Response that carries a subsequent payload (Data holds the incremental entries).
const subsequentLabel = "\x00incremental"

// Subsequent reports whether resp is a subsequent payload of incremental delivery; entries is then the JSON array
// of its incremental entries and resp.HasNext says whether more follow.
func Subsequent(resp *graphql.Response) (entries json.RawMessage, ok bool) {
	if resp == nil || resp.Label != subsequentLabel {
		return nil, false
	}
	return resp.Data, true
}
