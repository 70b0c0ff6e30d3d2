package main

import (
	"encoding/json"
	"fmt"
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
	data, err := schema.SetEntry(env.rt.sg.Raw, "bindings", "Customer.tickets", []byte(`{source: support, field: ticketsByCustomer,
	  args: {customerId: "{{parent.id}}"}, batch: {key: "{{parent.id}}", field: ticketsByCustomers, args: {customerIds: "{{keys}}"}, match: customerId}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newConfigs(env.rt.sg.File, s, discardLogger()).Write(data, nil, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.rt.Load().Close() })
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
