package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
	"go.yaml.in/yaml/v3"
)

// TestOverlappingFieldsRule_Spec runs graphql-js's tests of the rule (as gqlparser exports them) against
// gqlparser's rule and ours: both report exactly the same errors on every one.
func TestOverlappingFieldsRule_Spec(t *testing.T) {
	var rawSchemas []string
	readYAML(t, "testdata/validate/schemas.yml", &rawSchemas)
	var specs []struct {
		Name   string
		Schema int
		Query  string
	}
	readYAML(t, "testdata/validate/OverlappingFieldsCanBeMergedRule.spec.yml", &specs)
	if len(specs) < 40 {
		t.Fatalf("%d specs", len(specs))
	}
	schemas := map[int]*ast.Schema{}
	invalid := 0
	for _, spec := range specs {
		t.Run(spec.Name, func(t *testing.T) {
			s := schemas[spec.Schema]
			if s == nil {
				var err error
				s, err = validator.LoadSchema(append([]*ast.Source{validator.Prelude}, &ast.Source{Input: rawSchemas[spec.Schema]})...)
				if err != nil {
					t.Skipf("schema %d: %v", spec.Schema, err)
				}
				schemas[spec.Schema] = s
			}
			want := overlapErrors(t, s, spec.Query, rules.OverlappingFieldsCanBeMergedRule)
			got := overlapErrors(t, s, spec.Query, overlappingFieldsRule)
			if got != want {
				t.Errorf("gqlparser's rule:\n%s\nours:\n%s", want, got)
			}
			if want != "" {
				invalid++
			}
		})
	}
	if invalid < 20 {
		t.Errorf("only %d specs report a conflict", invalid)
	}
}

// overlapErrors validates query against s with rule alone and returns its errors, one a line, sorted.
func overlapErrors(t *testing.T, s *ast.Schema, query string, rule core.Rule) string {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		t.Fatal(err)
	}
	return errorLines(validator.ValidateWithRules(s, doc, rules.NewRules(rule)))
}

func errorLines(errs gqlerror.List) string {
	var lines []string
	for _, e := range errs {
		lines = append(lines, fmt.Sprintf("%s %v", e.Message, e.Locations))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// TestOverlappingFieldsRule_Verdicts: on documents with duplicated fields, ours agrees with gqlparser's rule on
// valid or not (it reports each conflict once where gqlparser repeats it per duplicate).
func TestOverlappingFieldsRule_Verdicts(t *testing.T) {
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	s := env.rt.Engine().Schema()
	cases := []struct {
		name, query string
		valid       bool
	}{
		{"aliases of different fields", `{ customer(id: 1) { a: name a: email } }`, false},
		{"same field different arguments", `{ c: customer(id: 1) { id } c: customer(id: 2) { id } }`, false},
		{"duplicates of a conflict", `{ customer(id: 1) { a: name a: name a: email a: email } }`, false},
		{"duplicated sub-selections that conflict", `{ c: customer(id: 1) { x: name } c: customer(id: 1) { x: name } c: customer(id: 1) { x: email } }`, false},
		{"duplicates in inline fragments", `{ customer(id: 1) { ... on Customer { name } ... on Customer { name } name } }`, true},
		{"duplicate spreads", `{ customer(id: 1) { ...F ...F ...F name } } fragment F on Customer { name }`, true},
		{"duplicate spreads that conflict", `{ customer(id: 1) { ...F ...F name: email } } fragment F on Customer { name }`, false},
		{"identical with directives", `query($v: Boolean!) { customer(id: 1) { name @include(if: $v) name @include(if: $v) name } }`, true},
		{"conflict under abstract type", `{ search(term: "a") { ... on Product { x: name } ... on Product { x: id } } }`, false},
		{"exclusive parents", `{ search(term: "a") { ... on Product { x: name } ... on Category { x: name } } }`, true},
		{"identical nested", `{ customers { orders { id status } orders { id status } } customers { orders { id status } } }`, true},
		{"nested conflict behind duplicates", `{ customers { orders { id } orders { id } } customers { orders { id: status } } }`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := overlapErrors(t, s, c.query, rules.OverlappingFieldsCanBeMergedRule)
			got := overlapErrors(t, s, c.query, overlappingFieldsRule)
			if (want == "") != c.valid || (got == "") != c.valid {
				t.Errorf("valid=%v\ngqlparser's rule:\n%s\nours:\n%s", c.valid, want, got)
			}
		})
	}
}

// TestValidation_Bounded: hostile documents within the default token limit (15,000) are validated, over HTTP,
// in a bounded time (each took seconds with gqlparser's rule: 10,000 identical fields 25 s); valid ones are
// answered, the others refused with their code, and another client's request is answered meanwhile.
func TestValidation_Bounded(t *testing.T) {
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	rep := func(s string, n int) string { return strings.Repeat(s, n) }
	cases := []struct {
		name, query string
		code        string // "" for a valid document
	}{
		{"10,000 identical fields", `{ customer(id: 1) {` + rep(" name", 10000) + ` } }`, ""},
		{"10,000 identical root fields", `{` + rep(" __typename", 10000) + ` }`, ""},
		{"identical fields with sub-selections", `{` + rep(` customer(id: 1) { name }`, 1600) + ` }`, ""},
		{"identical nested fields", `{ customers {` + rep(` orders { id }`, 3000) + ` } }`, ""},
		{"identical inline fragments", `{ customer(id: 1) {` + rep(` ... on Customer { name }`, 2400) + ` } }`, ""},
		{"identical spreads", `{ customer(id: 1) {` + rep(` ...F`, 5000) + ` } } fragment F on Customer {` + rep(" name", 2000) + ` }`, ""},
		{"two selections of 5,000 identical fields", `{ customers {` + rep(" name", 5000) + ` } customers {` + rep(" name", 5000) + ` } }`, ""},
		{"fields that conflict pairwise", `{` + rep(` c: customer(id: 1) { id }`, 600) + rep(` c: customer(id: 2) { id }`, 600) + ` }`, "GRAPHQL_VALIDATION_FAILED"},
		{"distinct arguments", `{` + strings.Join(numbered(` c: customer(id: %d) { id }`, 1200), "") + ` }`, "GRAPHQL_VALIDATION_FAILED"},
		{"distinct fragments", `{` + strings.Join(numbered(` ...F%d`, 1600), "") + ` }` + strings.Join(numbered(` fragment F%d on Query { __typename }`, 1600), ""), codeValidationLimit},
		{"distinct sub-selections", `{` + strings.Join(numbered(` c: customers { n%d: name }`, 1600), "") + ` }`, codeValidationLimit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			status, raw := env.postRaw(c.query, nil)
			elapsed := time.Since(start)
			t.Logf("%d bytes: %v", len(c.query), elapsed)
			// Well under 100 ms on a quiet machine; the bound leaves room for -race and a shared CPU.
			if elapsed > 2*time.Second {
				t.Errorf("took %v", elapsed)
			}
			var a struct {
				Data   json.RawMessage
				Errors []struct{ Extensions map[string]any }
			}
			if err := json.Unmarshal(raw, &a); err != nil || status != http.StatusOK {
				t.Fatalf("%d %.300s", status, raw)
			}
			switch {
			case c.code == "" && (len(a.Errors) > 0 || a.Data == nil):
				t.Errorf("refused: %.300s", raw)
			case c.code != "" && (len(a.Errors) == 0 || a.Errors[0].Extensions["code"] != c.code || a.Data != nil):
				t.Errorf("want %s without data: %.300s", c.code, raw)
			case len(a.Errors) > maxConflicts+1:
				t.Errorf("%d errors", len(a.Errors))
			}
			if status, raw := env.postRaw(`{ customer(id: 2) { name } }`, nil); status != 200 || string(raw) != `{"data":{"customer":{"name":"Grace Hopper"}}}` {
				t.Errorf("another client: %d %s", status, raw)
			}
		})
	}
}

func numbered(format string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

// BenchmarkValidation validates hostile documents of up to the default 15,000 tokens with every rule (ours),
// and 2,000 identical fields with gqlparser's rule for comparison:
// go test -run '^$' -bench BenchmarkValidation .
func BenchmarkValidation(b *testing.B) {
	env := newCustomer360(b, customer360.Options{Latency: noLatency()})
	s := env.rt.Engine().Schema()
	rep := func(s string, n int) string { return strings.Repeat(s, n) }
	cases := []struct {
		name, query string
		rules       func() *rules.Rules
	}{
		{"10,000 identical fields", `{ customer(id: 1) {` + rep(" name", 10000) + ` } }`, validationRules},
		{"identical nested fields", `{ customers {` + rep(` orders { id }`, 3000) + ` } }`, validationRules},
		{"identical spreads", `{ customer(id: 1) {` + rep(` ...F`, 5000) + ` } } fragment F on Customer {` + rep(" name", 2000) + ` }`, validationRules},
		{"distinct arguments", `{` + strings.Join(numbered(` c: customer(id: %d) { id }`, 1200), "") + ` }`, validationRules},
		{"distinct fragments", `{` + strings.Join(numbered(` ...F%d`, 1600), "") + ` }` + strings.Join(numbered(` fragment F%d on Query { __typename }`, 1600), ""), validationRules},
		{"distinct sub-selections", `{` + strings.Join(numbered(` c: customers { n%d: name }`, 1600), "") + ` }`, validationRules},
		{"introspection query", introspectionQuery, validationRules},
		{"2,000 identical fields", `{ customer(id: 1) {` + rep(" name", 2000) + ` } }`, validationRules},
		{"2,000 identical fields, gqlparser's rule", `{ customer(id: 1) {` + rep(" name", 2000) + ` } }`, rules.NewDefaultRules},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: c.query}, 15000)
				if err != nil {
					b.Fatal(err)
				}
				validator.ValidateWithRules(s, doc, c.rules())
			}
		})
	}
}
