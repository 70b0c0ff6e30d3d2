package loyalty

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/conflux-gql/conflux/examples/customer360/loyalty/generated"
)

// countingRoot records every FindManyCustomerByIDs batch.
type countingRoot struct {
	Resolver
	mu      sync.Mutex
	batches [][]string
}

func (r *countingRoot) Entity() generated.EntityResolver { return countingEntity{r} }

type countingEntity struct{ r *countingRoot }

func (e countingEntity) FindManyCustomerByIDs(ctx context.Context, reps []*generated.CustomerByIDsInput) ([]*generated.Customer, error) {
	var ids []string
	for _, rep := range reps {
		ids = append(ids, rep.ID)
	}
	e.r.mu.Lock()
	e.r.batches = append(e.r.batches, ids)
	e.r.mu.Unlock()
	return e.r.Resolver.Entity().FindManyCustomerByIDs(ctx, reps)
}

func TestEntityResolver_FindManyCustomerByIDs_batches(t *testing.T) {
	root := &countingRoot{}
	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: root}))
	srv.AddTransport(transport.POST{})
	body := `{"query":"{ _entities(representations: [{__typename: \"Customer\", id: \"1\"}, {__typename: \"Customer\", id: \"x\"}, {__typename: \"Customer\", id: \"20\"}]) { ... on Customer { id } } }"}`
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)

	if want := `{"data":{"_entities":[{"id":"1"},{"id":"x"},{"id":"20"}]}}`; rec.Body.String() != want {
		t.Errorf("got %s, want %s", rec.Body, want)
	}
	if len(root.batches) != 1 || strings.Join(root.batches[0], ",") != "1,x,20" {
		t.Errorf("batches %q, want one: [1 x 20]", root.batches)
	}
}
