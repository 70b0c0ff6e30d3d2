package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/bench/internal/gqlserver"
	"github.com/conflux-gql/conflux/examples/customer360"
)

var update = flag.Bool("update", false, "rewrite the golden answers under testdata/")

// TestBaseline360 asks the baseline the benchmark's query over HTTP against the real Customer 360 backends (no
// latency): the answers are the golden ones (the same bytes Conflux answers, which the benchmark checks again
// at every run), and each backend is called once per batched field, not once per parent.
func TestBaseline360(t *testing.T) {
	g, err := customer360.Start(customer360.Options{Latency: map[string]time.Duration{"crm": 0, "orders": 0,
		"catalog": 0, "billing": 0, "support": 0, "recommendations": 0, "loyalty": 0}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	u := g.URLs()
	srv := httptest.NewServer(newHandler(&backends{crm: u["crm"], orders: u["orders"], catalog: u["catalog"],
		billing: u["billing"], support: u["support"] + "/graphql", recommendations: u["recommendations"],
		loyalty: u["loyalty"] + "/graphql", client: gqlserver.NewClient()}))
	defer srv.Close()
	query, err := os.ReadFile("testdata/query.graphql")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"1", "2", "3"} {
		t.Run("customer_"+id, func(t *testing.T) {
			g.Reset()
			body, _ := json.Marshal(map[string]any{"query": string(query), "variables": map[string]any{"id": id}})
			resp, err := http.Post(srv.URL+"/graphql", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			golden := filepath.Join("testdata", "customer_"+id+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("answer differs from %s:\n got %.400s\nwant %.400s", golden, got, want)
			}
			// One call per batched field at best (catalog serves three: line products, categories, recommended
			// products), but gqlgen goroutines that miss a loader's 1 ms window split a batch, often under -race,
			// so only the loaders' cache is certain: never more than one call per distinct key, 12 to the catalog
			// for customer 1 (3 lines with their categories, 6 recommended products).
			for _, name := range g.Names() {
				if n := g.Backend(name).Requests(); n > 12 {
					t.Errorf("%s: %d requests", name, n)
				}
			}
			if n := g.Backend("crm").Requests(); n != 1 {
				t.Errorf("crm: %d requests, want 1", n)
			}
		})
	}
}
