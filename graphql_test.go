package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/conflux-gql/conflux/examples/mock"
	"github.com/conflux-gql/conflux/schema"
)

// TestGraphQL_UpstreamDocuments pins, for each testdata/upstream/<case>.graphql, the exact documents and
// variables the GraphQL support backend receives (its mock records them) and the client's answer.
func TestGraphQL_UpstreamDocuments(t *testing.T) {
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	files, _ := filepath.Glob("testdata/upstream/*.graphql")
	if len(files) == 0 {
		t.Fatal("no cases")
	}
	for _, file := range files {
		name := strings.TrimSuffix(file, ".graphql")
		t.Run(filepath.Base(name), func(t *testing.T) {
			q, _ := os.ReadFile(file)
			var vars map[string]any
			if raw, err := os.ReadFile(name + ".vars.json"); err == nil {
				json.Unmarshal(raw, &vars)
			}
			env.resetCounts()
			_, answer := env.postRaw(string(q), vars)
			var b strings.Builder
			var calls []mock.Call
			for _, name := range []string{"support", "loyalty"} {
				calls = append(calls, env.backends[name].Recorded()...)
			}
			for _, c := range calls {
				var body struct {
					Query     string         `json:"query"`
					Variables map[string]any `json:"variables"`
				}
				if err := json.Unmarshal([]byte(c.Body), &body); err != nil {
					t.Fatalf("upstream body is not JSON: %s", c.Body)
				}
				vs, _ := json.Marshal(body.Variables)
				fmt.Fprintf(&b, "%s %s\n%s\nvariables: %s\n\n", c.Method, c.RequestURI, body.Query, vs)
			}
			b.WriteString("answer:\n")
			b.Write(pretty(t, answer))
			golden(t, name+".upstream", []byte(b.String()))
		})
	}
}

// TestGraphQL_BatchModes: the tickets of 12 customers cost one upstream request whether the binding aliases a
// root field per key (the example's config), or passes every key in a list argument; both answer the same.
// (Customer 13's tickets fail upstream and are left out: in list mode an item upstream nulled has lost the field
// that says whose it is, so its error goes to every parent of the batch — aliased mode places it exactly.)
func TestGraphQL_BatchModes(t *testing.T) {
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	q := `{ customers(limit: 12) { id tickets { id subject ... on EmailTicket { fromAddress } } } }`
	env.resetCounts()
	_, aliased := env.postRaw(q, nil)
	if n := env.backends["support"].Requests(); n != 1 {
		t.Fatalf("aliased mode: %d upstream requests, want 1", n)
	}
	if body := env.backends["support"].Recorded()[0].Body; !strings.Contains(body, "_11: ticketsByCustomer(customerId: $__11_customerId)") {
		t.Errorf("aliased mode sent %s", body)
	}

	s := env.srv.Config.Handler.(*server)
	data, err := schema.SetEntry(env.rt.Supergraph().Raw, "bindings", "Customer.tickets", []byte(`{source: support, field: ticketsByCustomer,
	  args: {customerId: "{{parent.id}}"}, batch: {key: "{{parent.id}}", field: ticketsByCustomers, args: {customerIds: "{{keys}}"}, match: customerId}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.rt.Write(data, nil, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.rt.Close() })
	env.resetCounts()
	_, list := env.postRaw(q, nil)
	if n := env.backends["support"].Requests(); n != 1 {
		t.Fatalf("list mode: %d upstream requests, want 1", n)
	}
	if body := env.backends["support"].Recorded()[0].Body; !strings.Contains(body, "r: ticketsByCustomers(customerIds: $_r_customerIds)") ||
		!strings.Contains(body, "customerId") {
		t.Errorf("list mode sent %s (the match field customerId must be selected)", body)
	}
	if string(list) != string(aliased) {
		t.Errorf("the modes answer differently:\n%s\n%s", aliased, list)
	}
}

// TestGraphQL_NonNullOnOurSide: where our schema is stricter than the upstream one (messages non-null here,
// nullable upstream), an upstream error's null keeps propagating on our side — the ticket becomes null — and
// the answer carries the upstream errors only, not a second "cannot return null" for the same failure.
func TestGraphQL_NonNullOnOurSide(t *testing.T) {
	g, err := customer360.Start(customer360.Options{Latency: noLatency()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	replace := map[string]string{"messages(last: Int = 2): [Message!]\n": "messages(last: Int = 2): [Message!]!\n"}
	backends := map[string]*mock.Backend{}
	for name, addr := range customer360.DefaultAddrs {
		replace["http://"+addr] = g.URLs()[name]
		backends[name] = g.Backend(name)
	}
	env := startConflux(t, "examples/customer360", replace, backends)
	_, raw := env.postRaw(`{ customers(limit: 16) { id tickets { id messages { text } } } }`, nil)
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	c16 := a.Data["customers"].([]any)[15].(map[string]any)
	if fmt.Sprint(c16["tickets"]) != "[<nil> <nil>]" {
		t.Errorf("customer 16's tickets = %v, want both nulled by the non-null messages", c16["tickets"])
	}
	if len(a.Errors) != 2 {
		t.Fatalf("want the 2 upstream errors only, got %d: %s", len(a.Errors), raw)
	}
	for _, e := range a.Errors {
		if e.Extensions["code"] != "UPSTREAM_GRAPHQL_ERROR" || fmt.Sprint(e.Path[:3]) != "[customers 15 tickets]" || e.Path[4] != "messages" {
			t.Errorf("error = %+v", e)
		}
	}
}

// TestGraphQL_ForwardHeaders: a graphql source sends on exactly the incoming headers it names.
func TestGraphQL_ForwardHeaders(t *testing.T) {
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	got := make(chan http.Header, 4)
	env.backends["support"].SetMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- r.Header.Clone()
			next.ServeHTTP(w, r)
		})
	})
	s := env.srv.Config.Handler.(*server)
	src := env.rt.Supergraph().Sources["support"].HTTP
	data, err := schema.SetEntry(env.rt.Supergraph().Raw, "sources", "support", []byte(fmt.Sprintf(
		`{graphql: {endpoints: [%q], sdl: %s, forwardHeaders: [X-Tenant]}}`, src.Endpoints[0], src.SDL)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.rt.Write(data, nil, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.rt.Close() })
	body, _ := json.Marshal(map[string]any{"query": `{ customer(id: 1) { tickets { id } } }`})
	req, _ := http.NewRequest("POST", env.srv.URL+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tenant", "acme")
	req.Header.Set("X-Secret", "do-not-forward")
	resp, err := env.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := <-got
	if h.Get("X-Tenant") != "acme" || h.Get("X-Secret") != "" {
		t.Errorf("upstream headers: X-Tenant=%q X-Secret=%q", h.Get("X-Tenant"), h.Get("X-Secret"))
	}
}
