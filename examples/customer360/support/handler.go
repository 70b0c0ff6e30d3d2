package support

import (
	_ "embed"
	"net/http"
	"time"

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
//
// The ticketUpdates subscription is served over graphql-transport-ws (GET /graphql, WebSocket upgrade) and over
// GraphQL over SSE (POST /graphql with Accept: text/event-stream).
func NewHandler(tickets []Ticket) http.Handler {
	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: &Resolver{store: newStore(tickets)}}))
	srv.AddTransport(transport.Websocket{KeepAlivePingInterval: 10 * time.Second})
	srv.AddTransport(transport.SSE{}) // before POST, which would take an SSE request for a plain one
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](100))
	srv.Use(extension.Introspection{})
	mux := http.NewServeMux()
	mux.Handle("POST /graphql", srv)
	mux.Handle("GET /graphql", srv) // WebSocket upgrades
	return mux
}
