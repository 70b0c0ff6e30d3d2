// Package resolvers turns a binding into backend requests and backend responses into field values.
//
// A Resolver renders a binding's request templates for one parent (escaping each value for where it lands: a
// path segment, a query value, a header, a JSON body), sends it through its source, decodes the JSON answer and
// applies `select`. For bindings with `batch`, a per-client-request Loaders coalesces the keys of every parent
// into dataloader batches (github.com/graph-gophers/dataloader/v7: one Loader per flush, its batch capacity the
// number of new keys, so the last Load dispatches with no wait window), fetches each distinct key once per
// client request, splits key sets larger than maxSize into parallel calls, and matches the returned items back
// to keys by a field or by position. Waiting for a key's value ends with the caller's ctx, and Loaders.Wait
// returns once every batch has ended.
//
// The code is filed by source kind (issue 14): http.go builds and sends the requests of HTTP (REST) and static
// sources, unbatched (with the per-request memo of identical requests) and batched (httpBatchCall, Match);
// graphql*.go serve upstream GraphQL: graphql.go a forwarded selection per parent or per batch, graphql_doc.go
// the upstream documents, graphql_load.go its batch loads (graphqlBatchCall), graphql_federation.go the calls
// of a federated plan to its subgraphs. loader.go is the batching every kind shares: keys, Loaders, Batch and
// the batch loaders, which make their calls through the kind's batchCall.
//
// Resolvers are built once per configuration version and are safe for concurrent use; Loaders belongs to one
// client request.
package resolvers
