package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/conflux-gql/conflux/bench/baseline360/generated"
	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vektah/gqlparser/v2/ast"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8091", "listen address")
	b := &backends{client: newClient()}
	for name, p := range map[string]*string{"crm": &b.crm, "orders": &b.orders, "catalog": &b.catalog, "billing": &b.billing,
		"support": &b.support, "recommendations": &b.recommendations, "loyalty": &b.loyalty} {
		def := "http://" + customer360.DefaultAddrs[name]
		if name == "support" || name == "loyalty" {
			def += "/graphql"
		}
		flag.StringVar(p, name, def, "base URL of the "+name+" backend (support, loyalty: its GraphQL endpoint)")
	}
	flag.Parse()
	if err := serve(*addr, b); err != nil {
		slog.Error("baseline", "error", err.Error())
		os.Exit(1)
	}
}

// newHandler is the server's routes: /graphql, /readyz and /metrics.
func newHandler(b *backends) http.Handler {
	gql := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: &Resolver{backends: b}}))
	gql.AddTransport(transport.Options{})
	gql.AddTransport(transport.GET{})
	gql.AddTransport(transport.POST{})
	gql.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	gql.Use(extension.Introspection{})

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/graphql", withLoaders(b, gql))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	return mux
}

func serve(addr string, b *backends) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: newHandler(b), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Printf("baseline listening on http://%s\n", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
