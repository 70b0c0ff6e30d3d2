package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/conflux-gql/conflux/examples/mock"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2"
)

// TestFederation_Gateway serves each federation case's supergraph with Conflux, configured by nothing but
// `supergraph: supergraph.graphql`, and checks every query against what @apollo/gateway answered for the same
// subgraphs (issue 14): the same data, errors when and only when the gateway had errors, the same HTTP status,
// and no more requests to any subgraph than the gateway made.
func TestFederation_Gateway(t *testing.T) {
	for _, dir := range fedCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			sgs := startSubgraphs(t, dir)
			sdl := sgs.Supergraph(t, dir)
			cfg := filepath.Join(filepath.Dir(sdl), "conflux.yaml")
			if err := os.WriteFile(cfg, []byte("supergraph: supergraph.graphql\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			env := serveConfig(t, cfg, nil)
			for _, q := range loadFedCase(t, dir) {
				t.Run(q.Name, func(t *testing.T) {
					sgs.Reset(t)
					status, raw := env.postRaw(q.Query, q.Variables)
					compareFed(t, q, status, raw, sgs.Calls(t))
					if t.Failed() {
						reqs, _ := json.Marshal(sgs.Requests(t))
						t.Logf("subgraph requests: %s", reqs)
					}
				})
			}
		})
	}
}

// fedAnswer is the part of a GraphQL answer the gateway comparison reads.
type fedAnswer struct {
	Data   any `json:"data"`
	Errors []struct {
		Message string `json:"message"`
		Path    []any  `json:"path"`
	} `json:"errors"`
	Extensions struct {
		// ValueCompletion is where @apollo/gateway reports a null in a non-null field instead of errors.
		ValueCompletion []any `json:"valueCompletion"`
	} `json:"extensions"`
}

func compareFed(t *testing.T, q fedQuery, status int, raw []byte, calls map[string]int) {
	t.Helper()
	var got, want fedAnswer
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, raw)
	}
	if err := json.Unmarshal(q.Response, &want); err != nil {
		t.Fatal(err)
	}
	// A refused document is 400 from the gateway; Conflux answers it 200 for an application/json client, as the
	// GraphQL-over-HTTP spec says (400 is for application/graphql-response+json): both refuse it.
	if status != q.Status && !(q.Status == 400 && status == 200 && got.Data == nil && len(got.Errors) > 0) {
		t.Errorf("status %d, the gateway's %d", status, q.Status)
	}
	if !reflect.DeepEqual(got.Data, want.Data) {
		t.Errorf("data differs from the gateway's\n got: %s\nwant: %s", compact(raw), compact(q.Response))
	}
	// The spec's field error for a null in a non-null field is what the gateway reports as valueCompletion.
	wantErrs := len(want.Errors) + len(want.Extensions.ValueCompletion)
	if (len(got.Errors) > 0) != (wantErrs > 0) {
		t.Errorf("errors differ from the gateway's\n got: %s\nwant: %s", compact(raw), compact(q.Response))
	}
	for name, n := range calls {
		if n > q.Calls[name] {
			t.Errorf("subgraph %s got %d requests, the gateway made %d", name, n, q.Calls[name])
		}
	}
}

func compact(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}

// TestFederation_Customer360 serves the Customer 360 variant where loyalty and support come from the federated
// supergraph and the REST backends are bound beside it (testdata/federation/customer360/conflux.yaml): REST
// customers get their loyalty and tickets with one _entities request per subgraph, subgraph tickets get their
// REST fields with one batched call, and nothing else is called. Answers are pinned by goldens in
// testdata/federation/customer360/mixed.
func TestFederation_Customer360(t *testing.T) {
	dir := filepath.Join(fedCasesDir, "customer360")
	sgs := startSubgraphs(t, dir)
	g, err := customer360.Start(customer360.Options{}, nil)
	if err != nil {
		t.Fatalf("start backends: %v", err)
	}
	t.Cleanup(func() { g.Close() })
	sdl := sgs.Supergraph(t, dir)
	tmp := filepath.Dir(sdl)
	backends := map[string]*mock.Backend{}
	for _, f := range []string{"conflux.yaml", "rest.graphqls"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		for name, addr := range customer360.DefaultAddrs {
			s = strings.ReplaceAll(s, "http://"+addr, g.URLs()[name])
			backends[name] = g.Backend(name)
		}
		if err := os.WriteFile(filepath.Join(tmp, f), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := serveConfig(t, filepath.Join(tmp, "conflux.yaml"), backends)
	cases := []struct {
		name  string
		query string
		// calls are the requests each backend and subgraph receives.
		calls map[string]int
	}{
		{"rest_customers_with_subgraph_fields",
			`{ customers(limit: 4) { id name loyalty { tier points } tickets { id subject } } }`,
			map[string]int{"crm": 1, "loyalty": 1, "support": 1}},
		{"subgraph_tickets_with_rest_fields",
			`{ ticketsByCustomers(customerIds: ["1", "4"]) { id ... on ChatTicket { messages(last: 3) { text sender { name email } } } customer { id loyalty { tier } } } }`,
			map[string]int{"support": 1, "crm": 1, "loyalty": 1}},
		{"rest_below_subgraph_below_rest",
			`{ customer(id: "25") { fullName orders { id lines { quantity product { name } } } tickets { subject ... on ChatTicket { messages { sender { name loyalty { points } } } } } } }`,
			map[string]int{"crm": 2, "orders": 1, "catalog": 1, "support": 1, "loyalty": 1}},
		{"subgraph_root_with_rest_binding",
			`{ topLoyal(limit: 3) { id loyalty { points } orders { id status } } }`,
			map[string]int{"loyalty": 1, "orders": 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env.resetCounts()
			sgs.Reset(t)
			status, raw := env.postRaw(tc.query, nil)
			if status != 200 {
				t.Fatalf("status %d: %s", status, raw)
			}
			golden(t, filepath.Join(dir, "mixed", tc.name+".json"), pretty(t, raw))
			calls := map[string]int{}
			for name, n := range env.calls() {
				if n > 0 {
					calls[name] = int(n)
				}
			}
			for name, n := range sgs.Calls(t) {
				if n > 0 {
					calls[name] = n
				}
			}
			if fmt.Sprint(sortedCalls(calls)) != fmt.Sprint(sortedCalls(tc.calls)) {
				t.Errorf("calls %v, want %v", sortedCalls(calls), sortedCalls(tc.calls))
			}
		})
	}
}

func sortedCalls(m map[string]int) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}

// TestFederation_Plans pins the subgraph calls Conflux plans for every fixture query (queries/<name>.conflux.txt,
// -update rewrites): which subgraph each request goes to, what it waits for, and its document. The gateway's own
// plan is beside it in <name>.plan.txt, for reading.
func TestFederation_Plans(t *testing.T) {
	for _, dir := range fedCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			tmp := t.TempDir()
			sdl, err := os.ReadFile(filepath.Join(dir, "supergraph.graphql"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(tmp, "supergraph.graphql"), sdl, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(tmp, "conflux.yaml"), []byte("supergraph: supergraph.graphql\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			sg, err := schema.Load(filepath.Join(tmp, "conflux.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range loadFedCase(t, dir) {
				t.Run(q.Name, func(t *testing.T) {
					doc, errs := gqlparser.LoadQuery(sg.Schema, q.Query)
					if errs != nil {
						if q.Status != 400 {
							t.Fatalf("the gateway served it, Conflux refuses it: %v", errs)
						}
						return
					}
					var got string
					p, err := graph.NewPlan(sg, doc, doc.Operations[0], q.Variables)
					if err != nil {
						got = "error: " + err.Error() + "\n"
					} else {
						got = p.String()
					}
					golden(t, filepath.Join(dir, "queries", q.Name+".conflux.txt"), []byte(got))
				})
			}
		})
	}
}
