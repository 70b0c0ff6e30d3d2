package main

import (
	"flag"
	"log/slog"
	"net/http"
	"os"

	"github.com/conflux-gql/conflux/bench/baseline/generated"
	"github.com/conflux-gql/conflux/bench/internal/gqlserver"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	backendURL := flag.String("backend", "http://127.0.0.1:9201", "base URL of the posts backend")
	flag.Parse()
	if err := gqlserver.Serve("baseline", *addr, newHandler(*backendURL)); err != nil {
		slog.Error("baseline", "error", err.Error())
		os.Exit(1)
	}
}

// newHandler is the server's routes: /graphql, /readyz and /metrics.
func newHandler(backendURL string) http.Handler {
	b := &backend{base: backendURL, client: gqlserver.NewClient()}
	es := generated.NewExecutableSchema(generated.Config{Resolvers: &Resolver{backend: b}})
	return gqlserver.Handler(es, func(next http.Handler) http.Handler { return withLoaders(b, next) })
}
