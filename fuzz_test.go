package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// FuzzOverlappingFieldsRule: for any document, Conflux's bounded OverlappingFieldsCanBeMerged rule (validate.go)
// and gqlparser's give the same verdict — valid or not — unless ours ran out of its comparison budget, which it
// then reports as an error of its own rule.
func FuzzOverlappingFieldsRule(f *testing.F) {
	sg, err := schema.Load("examples/customer360/conflux.yaml", loadOptions()...)
	if err != nil {
		f.Fatal(err)
	}
	for _, q := range []string{
		`{ customer(id: 1) { a: name a: email } }`,
		`{ c: customer(id: 1) { id } c: customer(id: 2) { id } }`,
		`{ customer(id: 1) { a: name a: name a: email a: email } }`,
		`{ customer(id: 1) { ...F ...F name: email } } fragment F on Customer { name }`,
		`{ search(term: "a") { ... on Product { x: name } ... on Category { x: name } } }`,
		`{ customers { orders { id } orders { id } } customers { orders { id: status } } }`,
		`query($v: Boolean!) { customer(id: 1) { name @include(if: $v) name @include(if: $v) name } }`,
		sampleQuery,
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, 2000)
		if err != nil {
			return
		}
		theirs := validator.ValidateWithRules(sg.Schema, doc, rules.NewRules(rules.OverlappingFieldsCanBeMergedRule))
		ours := validator.ValidateWithRules(sg.Schema, doc, rules.NewRules(overlappingFieldsRule))
		for _, e := range ours {
			if e.Rule == overlapBudgetRule {
				return
			}
		}
		if (len(theirs) == 0) != (len(ours) == 0) {
			t.Errorf("verdicts differ on %q\ngqlparser's rule: %v\nours: %v", query, theirs, ours)
		}
	})
}

// FuzzTransport_Body: whatever bytes a client POSTs to /graphql, the answer is a GraphQL JSON object with a
// status the GraphQL-over-HTTP spec allows, and a refused body is never echoed back.
func FuzzTransport_Body(f *testing.F) {
	env := newCustomer360(f, customer360.Options{Latency: noLatency()})
	for _, b := range []string{
		`{"query":"{ __typename }"}`,
		`{"query":"{ customer(id: 1) { name } }","variables":{}}`,
		`{"query":"{ __typename }"} trailing`,
		`{"query":1}`,
		`{"query":"{","operationName":null}`,
		`{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}`,
		`[]`, `null`, ``, `{"query":"{ __typename }","variables":"x"}`,
	} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		env.rt.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q", w.Code, body)
		}
		var answer map[string]json.RawMessage
		if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
			t.Fatalf("the answer is not a JSON object (%v): %s", err, w.Body.Bytes())
		}
		if answer["errors"] == nil && answer["data"] == nil {
			t.Fatalf("the answer has neither data nor errors: %s", w.Body.Bytes())
		}
		if w.Code != http.StatusOK && len(body) >= 32 && bytes.Contains(w.Body.Bytes(), body) {
			t.Fatalf("a refused body is echoed back: %s", w.Body.Bytes())
		}
	})
}
