package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		wantOut string
		wantErr string
	}{
		{name: "example", config: "examples/customer360/conflux.yaml", wantOut: "ok (version"},
		{name: "N+1 lint", config: "schema/testdata/warnings/conflux.yaml", wantOut: "N+1: Customer appears in lists (Query.customers)"},
		{name: "errors", config: "schema/testdata/many_errors/conflux.yaml", wantErr: `unknown source "ordrs" (have: crm, orders)`},
		{name: "missing file", config: "nope.yaml", wantErr: "no such file"},
		{name: "unfillable non-null root field", config: "schema/testdata/unfillable/conflux.yaml", wantErr: "1 non-null field that nothing can fill"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := check([]string{"--config", tc.config}, &out)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("output %q lacks %q", out.String(), tc.wantOut)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	var out bytes.Buffer
	if err := explain([]string{"--config", "examples/customer360/conflux.yaml", "--query", "graph/testdata/plans/deep.graphql"}, &out); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("graph/testdata/plans/deep.plan")
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	for _, format := range []string{"json", "mermaid"} {
		out.Reset()
		if err := explain([]string{"--config", "examples/customer360/conflux.yaml", "--query", "graph/testdata/plans/deep.graphql", "--format", format}, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "Customer.invoices") {
			t.Errorf("%s output lacks the invoices fetch: %s", format, out.String())
		}
	}
	if err := explain([]string{"--config", "examples/customer360/conflux.yaml"}, &out); err == nil {
		t.Error("explain without --query must fail")
	}
}
