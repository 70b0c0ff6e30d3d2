package support

import (
	_ "embed"
	"net/http"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/conflux-gql/conflux/examples/customer360/support/generated"
)

// SDL is the backend's schema, schema.graphqls.
//
//go:embed schema.graphqls
var SDL string

// NewHandler serves GraphQL over POST /graphql (JSON body; introspection on; gqlgen's query cache, as a real service has) from a copy of tickets plus the
// tickets opened since. Each handler has its own store; the handler is safe for concurrent use.
func NewHandler(tickets []Ticket) http.Handler {
	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: &Resolver{store: newStore(tickets)}}))
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](100))
	srv.Use(extension.Introspection{})
	mux := http.NewServeMux()
	mux.Handle("POST /graphql", srv)
	return mux
}
