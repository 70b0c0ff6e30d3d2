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
// Resolvers are built once per configuration version and are safe for concurrent use; Loaders belongs to one
// client request.
package resolvers
