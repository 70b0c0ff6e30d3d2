// Command baseline360 is the hand-written GraphQL server Conflux is benchmarked against on Customer 360
// (bench/, scenario c360): the part of examples/customer360's schema the benchmark's query reads, served by
// gqlgen-generated code (gqlgen.yml; generated/ is never edited by hand), with resolvers that call the example's
// backends — REST services, the support GraphQL service and the loyalty federation subgraph — through
// per-request dataloader/v7 loaders, the way the gqlgen dataloader guide recommends (middleware puts fresh
// loaders on each request's context; a 1 ms batch wait).
//
//	go run ./bench/baseline360 --addr 127.0.0.1:8091 --crm http://127.0.0.1:9101 …
//
// It serves POST/GET /graphql, GET /readyz and GET /metrics (Prometheus Go and process metrics).
//
// Regenerate with `go generate .` in this directory after editing schema.graphqls.
package main

//go:generate go run github.com/99designs/gqlgen generate
