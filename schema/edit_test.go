package schema

import (
	"strings"
	"testing"
)

const editable = `# Customer 360
schema: schema.graphqls   # the SDL
sources:
  crm: {http: {endpoints: [http://127.0.0.1:9101]}}
bindings:
  # the profile
  Query.customer: {source: crm, path: "/customers/{{args.id}}"}
  Customer.fullName: {from: name}
`

func TestSetEntry(t *testing.T) {
	tests := []struct {
		name, section, key, value string
		want                      []string
		wantErr                   string
	}{
		{name: "new binding, JSON", section: "bindings", key: "Customer.email", value: `{"from": "mail"}`,
			want: []string{"# Customer 360", "# the profile", "# the SDL", `Customer.email: {"from": "mail"}`}},
		{name: "replace keeps position and comment", section: "bindings", key: "Query.customer", value: `{source: crm, path: "/c/{{args.id}}"}`,
			want: []string{"# the profile\n  Query.customer: {source: crm, path: \"/c/{{args.id}}\"}\n  Customer.fullName"}},
		{name: "new source", section: "sources", key: "billing", value: "http: {endpoints: [http://127.0.0.1:9104]}",
			want: []string{"billing:\n    http: {endpoints: ['http://127.0.0.1:9104']}"}},
		{name: "not a mapping", section: "bindings", key: "X.y", value: "[1]", wantErr: "must be a mapping"},
		{name: "not YAML", section: "bindings", key: "X.y", value: "{", wantErr: "not YAML or JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SetEntry([]byte(editable), tc.section, tc.key, []byte(tc.value))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(got), w) {
					t.Errorf("result lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestDeleteEntryAndAddSchemaFile(t *testing.T) {
	got, err := DeleteEntry([]byte(editable), "bindings", "Customer.fullName")
	if err != nil || strings.Contains(string(got), "fullName") || !strings.Contains(string(got), "Query.customer") {
		t.Fatalf("delete: %v\n%s", err, got)
	}
	if _, err := DeleteEntry([]byte(editable), "bindings", "Nope.nope"); err == nil {
		t.Error("deleting a missing entry must fail")
	}
	got, err = AddSchemaFile([]byte(editable), "conflux.extensions.graphqls")
	if err != nil || !strings.Contains(string(got), "schema: [schema.graphqls, conflux.extensions.graphqls] # the SDL") {
		t.Fatalf("add schema file: %v\n%s", err, got)
	}
	again, _ := AddSchemaFile(got, "conflux.extensions.graphqls")
	if string(again) != string(got) {
		t.Error("adding the same file twice changed the list")
	}
	if e := Entry([]byte(editable), "bindings", "Customer.fullName"); strings.TrimSpace(string(e)) != "{from: name}" {
		t.Errorf("entry = %q", e)
	}
}
