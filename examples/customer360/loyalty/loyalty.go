package loyalty

import (
	_ "embed"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/conflux-gql/conflux/examples/customer360/loyalty/generated"
)

// SDL is the subgraph's schema, schema.graphqls; _service { sdl } answers the same text.
//
//go:embed schema.graphqls
var SDL string

// Customers is the number of customers topLoyal ranks: ids "1" to "25", as in the example's default dataset.
// _entities answers any id.
const Customers = 25

// NewHandler serves the subgraph over POST /graphql (JSON body; introspection on, which _service also needs).
// It is stateless and safe for concurrent use.
func NewHandler() http.Handler {
	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: &Resolver{}}))
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](100))
	srv.Use(extension.Introspection{})
	mux := http.NewServeMux()
	mux.Handle("POST /graphql", srv)
	return mux
}

// customer returns the customer with id, its loyalty nil unless id is a decimal integer from 1 up to the
// largest whose points still fit GraphQL's 32-bit Int.
func customer(id string) *generated.Customer {
	c := &generated.Customer{ID: id}
	n, err := strconv.Atoi(id)
	if err != nil || n < 1 || n > math.MaxInt32/100 {
		return c
	}
	c.Loyalty = &generated.Loyalty{Points: n * 100, Tier: tier(n * 100)}
	return c
}

// tier is BRONZE under 500 points, SILVER under 1500, GOLD from 1500.
func tier(points int) generated.Tier {
	switch {
	case points < 500:
		return generated.TierBronze
	case points < 1500:
		return generated.TierSilver
	default:
		return generated.TierGold
	}
}

// topLoyal returns the limit customers with the most points (the highest ids), most first; all of them when
// limit is null.
func topLoyal(limit *int) ([]*generated.Customer, error) {
	n := Customers
	if limit != nil {
		if *limit < 0 {
			return nil, fmt.Errorf("topLoyal: limit must not be negative, got %d", *limit)
		}
		n = min(n, *limit)
	}
	out := make([]*generated.Customer, 0, n)
	for id := Customers; id > Customers-n; id-- {
		out = append(out, customer(strconv.Itoa(id)))
	}
	return out, nil
}
