package main

import (
	"bytes"
	"os"
	"testing"
)

// TestAdmin_WriteBackKeepsFormatting: admin mutations over HTTP rewrite only the lines of the entry they change
// in the served conflux.yaml; a no-op change leaves it byte-identical (issue 16).
func TestAdmin_WriteBackKeepsFormatting(t *testing.T) {
	env := newAdminEnv(t, "")
	file := env.cfgs.Current().File
	read := func() []byte {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	orig := read()
	steps := []struct {
		name, mutation string
		old, new       string // the lines that change, "" for none
	}{
		{name: "no-op replace of a block binding", mutation: `declareBinding(field: "Customer.orders", config: ` +
			`"{source: orders, path: /orders, query: {customerId: \"{{parent.id}}\"}, batch: {key: \"{{parent.id}}\", query: {customerId: \"{{keys}}\"}, match: customerId, maxSize: 100}}")`},
		{name: "replace a one-line binding", mutation: `declareBinding(field: "Customer.fullName", config: "{from: email}")`,
			old: "  Customer.fullName: {from: name}\n", new: "  Customer.fullName: {from: email}\n"},
		{name: "remove a binding", mutation: `removeBinding(field: "Customer.customerSince")`,
			old: "  Customer.fullName: {from: email}\n  Customer.customerSince: {from: since}\n", new: "  Customer.fullName: {from: email}\n"},
	}
	want := orig
	for _, s := range steps {
		data := env.admin(`mutation { r: `+s.mutation+` { applied problems { message } } }`, nil)
		if r := data["r"].(map[string]any); r["applied"] != true {
			t.Fatalf("%s: %v", s.name, r)
		}
		if s.old != "" {
			if !bytes.Contains(want, []byte(s.old)) {
				t.Fatalf("%s: the example lacks %q", s.name, s.old)
			}
			want = bytes.Replace(want, []byte(s.old), []byte(s.new), 1)
		}
		if got := read(); !bytes.Equal(got, want) {
			t.Fatalf("%s: the file differs:\n--- want\n%s\n--- got\n%s", s.name, want, got)
		}
	}
}
