package main

import (
	"flag"
	"log/slog"
	"net/http"
	"os"

	"github.com/conflux-gql/conflux/bench/baseline360/generated"
	"github.com/conflux-gql/conflux/bench/internal/gqlserver"
	"github.com/conflux-gql/conflux/examples/customer360"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8091", "listen address")
	b := &backends{client: gqlserver.NewClient()}
	for name, p := range map[string]*string{"crm": &b.crm, "orders": &b.orders, "catalog": &b.catalog, "billing": &b.billing,
		"support": &b.support, "recommendations": &b.recommendations, "loyalty": &b.loyalty} {
		def := "http://" + customer360.DefaultAddrs[name]
		if name == "support" || name == "loyalty" {
			def += "/graphql"
		}
		flag.StringVar(p, name, def, "base URL of the "+name+" backend (support, loyalty: its GraphQL endpoint)")
	}
	flag.Parse()
	if err := gqlserver.Serve("baseline360", *addr, newHandler(b)); err != nil {
		slog.Error("baseline360", "error", err.Error())
		os.Exit(1)
	}
}

// newHandler is the server's routes: /graphql, /readyz and /metrics.
func newHandler(b *backends) http.Handler {
	es := generated.NewExecutableSchema(generated.Config{Resolvers: &Resolver{backends: b}})
	return gqlserver.Handler(es, func(next http.Handler) http.Handler { return withLoaders(b, next) })
}
