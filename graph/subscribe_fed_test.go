package graph_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/conflux-gql/conflux/sources"
	"go.uber.org/goleak"
)

// TestSubscribe_Supergraph: a supergraph's Subscription field is bound to the subgraph that resolves it and
// forwarded there over graphql-transport-ws with the fields that subgraph resolves, the keys other subgraphs need
// added; each event's fields from other subgraphs come from their _entities, one request per event.
func TestSubscribe_Supergraph(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	base, err := os.ReadFile("../testdata/federation/entities/supergraph.graphql")
	if err != nil {
		t.Fatal(err)
	}
	super := strings.Replace(string(base), "  query: Query\n", "  query: Query\n  subscription: Subscription\n", 1) + `
type Subscription
  @join__type(graph: ACCOUNTS)
{
  userCreated: User @join__field(graph: ACCOUNTS)
}
`
	up := &wsUpstream{subscribed: make(chan map[string]any, 1), next: make(chan string)}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	accounts, err := sources.NewHTTP(sources.HTTPConfig{Name: "accounts", Endpoints: []string{srv.URL + "/graphql"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(accounts.Close)
	reviews := &subgraphFake{name: "reviews", entity: func(rep map[string]any) any {
		return map[string]any{"reviews": []any{map[string]any{"body": fmt.Sprintf("review of %v by %v", rep["__typename"], rep["id"])}}}
	}}
	srcs := map[string]sources.Source{"accounts": accounts, "reviews": reviews}
	for _, name := range []string{"products", "inventory"} {
		srcs[name] = &subgraphFake{name: name}
	}
	e := engineFor(t, fmt.Sprintf("supergraph: supergraph.graphql\nsources:\n  accounts: {graphql: {endpoints: [%s/graphql]}}\n", srv.URL),
		fstest.MapFS{"supergraph.graphql": {Data: []byte(super)}}, srcs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := subscribe(t, ctx, e, `subscription { userCreated { name reviews { body } } }`, nil)
	first := make(chan string, 1)
	go func() { first <- response(t, ctx, h) }()
	sub := <-up.subscribed
	payload, _ := sub["payload"].(map[string]any)
	// name comes with the subscription (accounts resolves it); reviews needs User's key, which is added.
	if q, want := payload["query"], "subscription { r: userCreated { name id email } }"; q != want {
		t.Errorf("upstream document:\n got %v\nwant %s", q, want)
	}
	for i, id := range []string{"u1", "u2"} {
		up.next <- fmt.Sprintf(`{"data":{"r":{"name":"User %s","id":%q,"email":"%s@example.com"}}}`, id, id, id)
		var got string
		if i == 0 {
			got = <-first
		} else {
			got = response(t, ctx, h)
		}
		want := fmt.Sprintf(`{"data":{"userCreated":{"name":"User %s","reviews":[{"body":"review of User by %s"}]}}}`, id, id)
		if got != want {
			t.Errorf("event %d:\n got %s\nwant %s", i, got, want)
		}
	}
	if n := reviews.calls.Load(); n != 2 {
		t.Errorf("reviews calls = %d, want one _entities request per event", n)
	}
}
