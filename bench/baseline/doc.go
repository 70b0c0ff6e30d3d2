// Command baseline is the hand-written GraphQL server Conflux is benchmarked against (bench/): the posts
// schema of examples/posts served by gqlgen-generated code (gqlgen.yml; generated/ is never edited by hand),
// with resolvers that call the posts backend over HTTP through per-request dataloader/v7 loaders, the way the
// gqlgen dataloader guide recommends (middleware puts fresh loaders on each request's context; a 1 ms batch
// wait). It is meant to be a fair opponent: a shared keep-alive transport, gqlgen's query cache, backend JSON
// decoded straight into the types gqlgen serves.
//
//	go run ./bench/baseline --addr 127.0.0.1:8090 --backend http://127.0.0.1:9201
//
// It serves POST/GET /graphql, GET /readyz and GET /metrics (Prometheus Go and process metrics, read by the
// benchmark for allocations).
//
// Regenerate with `go generate .` in this directory after editing schema.graphqls.
package main
