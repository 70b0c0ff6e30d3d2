package graph_test

import (
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2"
)

// FuzzForward: any valid client query against the Customer 360 schema plans, and every selection it forwards
// to the GraphQL support backend validates against that backend's schema (the planner checks it and refuses
// otherwise, so a refusal here is a rewriter bug).
func FuzzForward(f *testing.F) {
	sg, err := schema.Load("../examples/customer360/conflux.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, q := range []string{
		`{ customers { tickets { id } } }`,
		`{ customers { t: tickets { __typename ... on EmailTicket { fromAddress m: messages(last: 1) { text author { name } } } } } }`,
		`query($n: Int) { customer(id: 3) { tickets { ...F } } } fragment F on Ticket { subject messages(last: $n) { at } }`,
		`{ customers { tickets { ... on ChatTicket { transcriptUrl id } ... on Ticket { status } } } }`,
		`mutation { openTicket(input: {customerId: 1, subject: "x"}) { id ... on EmailTicket { messages { author { id } } } } }`,
		`{ customers(limit: 2) { a: tickets { id } b: tickets { subject } } }`,
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		doc, errs := gqlparser.LoadQuery(sg.Schema, q)
		if errs != nil || len(doc.Operations) != 1 {
			return
		}
		_, err := graph.NewPlan(sg, doc, doc.Operations[0], map[string]any{"n": 1})
		if err != nil && strings.Contains(err.Error(), "cannot be sent to source") {
			t.Fatalf("valid query %q forwards an invalid selection: %v", q, err)
		}
	})
}
