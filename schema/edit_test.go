package schema

import (
	"fmt"
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
			want: []string{"  crm: {http: {endpoints: [http://127.0.0.1:9101]}}\n  billing: {http: {endpoints: ['http://127.0.0.1:9104']}}\nbindings:"}},
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

// blockFile and flowFile are configurations written by hand, with the blank lines, comments (aligned), quoting
// and flow/block mix a user writes. A write-back must leave all of it alone apart from the entry it changes
// (issue 16).
const blockFile = `# Customer 360
schema: schema.graphqls   # the SDL

sources:
  crm:
    http:
      endpoints: ["http://127.0.0.1:9101"]   # quoted on purpose
      timeout: 800ms

  orders: {http: {endpoints: ['http://127.0.0.1:9102']}}

bindings:
  # the profile
  Query.customer:   # by id
    source: crm
    path: "/customers/{{args.id}}"

  Customer.fullName: {from: name}       # aligned
  Customer.orders:   {source: orders, path: /orders}   # aligned
`

const flowFile = `schema: [schema.graphqls]
sources: {crm: {http: {endpoints: ["http://127.0.0.1:9101"]}}}   # one line
bindings: {
  Query.customer: {source: crm, path: "/customers/{{args.id}}"},  # profile
  Customer.fullName: {from: name}
}
`

// TestWriteBack pins the exact text of each edit. Every case also runs with CRLF line endings and, when the
// file ends with a newline, without it: the result must differ from the LF result only in the same way.
func TestWriteBack(t *testing.T) {
	set := func(section, key, value string) func([]byte) ([]byte, error) {
		return func(d []byte) ([]byte, error) { return SetEntry(d, section, key, []byte(value)) }
	}
	del := func(section, key string) func([]byte) ([]byte, error) {
		return func(d []byte) ([]byte, error) { return DeleteEntry(d, section, key) }
	}
	same := func(section, key string) func([]byte) ([]byte, error) { // replace an entry with itself
		return func(d []byte) ([]byte, error) { return SetEntry(d, section, key, Entry(d, section, key)) }
	}
	addSchema := func(d []byte) ([]byte, error) { return AddSchemaFile(d, "ext.graphqls") }
	// edit returns file with the lines old replaced by new (both may span lines; "" adds or removes).
	edit := func(file, old, new string) string {
		if !strings.Contains(file, old) {
			panic("test: no " + old)
		}
		return strings.Replace(file, old, new, 1)
	}

	tests := []struct {
		name, in string
		op       func([]byte) ([]byte, error)
		want     string
	}{
		{name: "block: no-op replace of a block binding", in: blockFile, op: same("bindings", "Query.customer"), want: blockFile},
		{name: "block: no-op replace of a flow binding", in: blockFile, op: same("bindings", "Customer.orders"), want: blockFile},
		{name: "block: no-op replace, other style, same value", in: blockFile,
			op: set("bindings", "Query.customer", `{"source": "crm", "path": "/customers/{{args.id}}"}`), want: blockFile},
		{name: "block: no-op replace of a source", in: blockFile, op: same("sources", "crm"), want: blockFile},
		{name: "block: replace a flow binding keeps its comment's column", in: blockFile, op: set("bindings", "Customer.fullName", "{from: fullname}"),
			want: edit(blockFile, "  Customer.fullName: {from: name}       # aligned\n", "  Customer.fullName: {from: fullname}   # aligned\n")},
		{name: "block: replace a block binding stays block", in: blockFile,
			op:   set("bindings", "Query.customer", `{source: crm, path: "/c/{{args.id}}", headers: {X-A: "1"}}`),
			want: edit(blockFile, "    path: \"/customers/{{args.id}}\"\n", "    path: \"/c/{{args.id}}\"\n    headers: {X-A: \"1\"}\n")},
		{name: "block: replace a source", in: blockFile, op: set("sources", "crm", `{http: {endpoints: ["http://127.0.0.1:9109"], timeout: 800ms}}`),
			want: edit(blockFile, "    http:\n      endpoints: [\"http://127.0.0.1:9101\"]   # quoted on purpose\n      timeout: 800ms\n",
				"    http: {endpoints: [\"http://127.0.0.1:9109\"], timeout: 800ms}\n")},
		{name: "block: add a binding after the last, in its siblings' style", in: blockFile, op: set("bindings", "Customer.email", "from: mail"),
			want: blockFile + "  Customer.email: {from: mail}\n"},
		{name: "block: add a source after the last", in: blockFile, op: set("sources", "billing", "http: {endpoints: ['http://127.0.0.1:9104']}"),
			want: edit(blockFile, "  orders: {http: {endpoints: ['http://127.0.0.1:9102']}}\n",
				"  orders: {http: {endpoints: ['http://127.0.0.1:9102']}}\n  billing: {http: {endpoints: ['http://127.0.0.1:9104']}}\n")},
		{name: "block: remove a one-line binding", in: blockFile, op: del("bindings", "Customer.fullName"),
			want: edit(blockFile, "  Customer.fullName: {from: name}       # aligned\n", "")},
		{name: "block: remove the last binding", in: blockFile, op: del("bindings", "Customer.orders"),
			want: edit(blockFile, "  Customer.orders:   {source: orders, path: /orders}   # aligned\n", "")},
		{name: "block: remove a block binding with its comment and one blank line", in: blockFile, op: del("bindings", "Query.customer"),
			want: edit(blockFile, "  # the profile\n  Query.customer:   # by id\n    source: crm\n    path: \"/customers/{{args.id}}\"\n\n", "")},
		{name: "block: remove a source", in: blockFile, op: del("sources", "orders"),
			want: edit(blockFile, "\n  orders: {http: {endpoints: ['http://127.0.0.1:9102']}}\n", "")},
		{name: "block: remove the only entry leaves the section empty", in: "sources: {}\nbindings:   # all of them\n  Query.x: {from: y}\n",
			op: del("bindings", "Query.x"), want: "sources: {}\nbindings: {}   # all of them\n"},
		{name: "block: add the section when there is none", in: blockFile, op: set("sources", "x", "{static: {}}"),
			want: edit(blockFile, "sources:\n", "sources:\n")}, // placeholder, replaced below
		{name: "block: schema file joins a scalar, comment kept", in: blockFile, op: addSchema,
			want: edit(blockFile, "schema: schema.graphqls   # the SDL\n", "schema: [schema.graphqls, ext.graphqls] # the SDL\n")},
		{name: "block: schema file joins a block list", in: "schema:\n  - a.graphqls   # first\n  - 'b.graphqls'\n\nbindings: {}\n", op: addSchema,
			want: "schema:\n  - a.graphqls   # first\n  - 'b.graphqls'\n  - ext.graphqls\n\nbindings: {}\n"},
		{name: "new section in a file of comments only", in: "# nothing yet\n", op: set("bindings", "Query.x", "{from: y}"),
			want: "# nothing yet\nbindings:\n  Query.x: {from: y}\n"},
		{name: "new section at the end", in: "schema: s.graphqls\n\nsources: {}\n", op: set("bindings", "Query.x", "{from: y}"),
			want: "schema: s.graphqls\n\nsources: {}\nbindings:\n  Query.x: {from: y}\n"},

		{name: "flow: no-op replace", in: flowFile, op: same("bindings", "Query.customer"), want: flowFile},
		{name: "flow: replace keeps the rest of the line", in: flowFile, op: set("bindings", "Query.customer", "{source: crm, path: '/c/{{args.id}}'}"),
			want: edit(flowFile, `Query.customer: {source: crm, path: "/customers/{{args.id}}"},  # profile`, `Query.customer: {source: crm, path: '/c/{{args.id}}'},  # profile`)},
		{name: "flow: add on a line of its own", in: flowFile, op: set("bindings", "Customer.email", "from: mail"),
			want: edit(flowFile, "  Customer.fullName: {from: name}\n", "  Customer.fullName: {from: name},\n  Customer.email: {from: mail}\n")},
		{name: "flow: add to a one-line mapping", in: flowFile, op: set("sources", "b", `{graphql: {endpoints: ["http://127.0.0.1:9109"]}}`),
			want: edit(flowFile, `{crm: {http: {endpoints: ["http://127.0.0.1:9101"]}}}`, `{crm: {http: {endpoints: ["http://127.0.0.1:9101"]}}, b: {graphql: {endpoints: ["http://127.0.0.1:9109"]}}}`)},
		{name: "flow: remove the first", in: flowFile, op: del("bindings", "Query.customer"),
			want: edit(flowFile, "  Query.customer: {source: crm, path: \"/customers/{{args.id}}\"},  # profile\n", "")},
		{name: "flow: remove the last", in: flowFile, op: del("bindings", "Customer.fullName"),
			want: edit(flowFile, "},  # profile\n  Customer.fullName: {from: name}\n", "}\n")},
		{name: "flow: remove the only one", in: flowFile, op: del("sources", "crm"),
			want: edit(flowFile, `sources: {crm: {http: {endpoints: ["http://127.0.0.1:9101"]}}}`, `sources: {}`)},
		{name: "flow: schema file joins a flow list", in: flowFile, op: addSchema,
			want: edit(flowFile, "schema: [schema.graphqls]", "schema: [schema.graphqls, ext.graphqls]")},
		{name: "flow: the whole file one mapping", in: "{schema: s.graphqls, sources: {crm: {http: {endpoints: ['http://x:1']}}}}\n",
			op: set("bindings", "Query.x", "{from: y}"), want: "{schema: s.graphqls, sources: {crm: {http: {endpoints: ['http://x:1']}}}, bindings: {Query.x: {from: y}}}\n"},
	}
	// The section that is not there yet goes at the end of the file.
	tests[14].in = edit(blockFile, "\nsources:\n  crm:\n    http:\n      endpoints: [\"http://127.0.0.1:9101\"]   # quoted on purpose\n      timeout: 800ms\n\n  orders: {http: {endpoints: ['http://127.0.0.1:9102']}}\n", "")
	tests[14].want = tests[14].in + "sources:\n  x: {static: {}}\n"

	for _, tc := range tests {
		variants := []struct {
			name     string
			in, want string
		}{
			{"LF", tc.in, tc.want},
			{"CRLF", strings.ReplaceAll(tc.in, "\n", "\r\n"), strings.ReplaceAll(tc.want, "\n", "\r\n")},
		}
		if strings.HasSuffix(tc.in, "\n") && strings.HasSuffix(tc.want, "\n") {
			variants = append(variants, struct {
				name     string
				in, want string
			}{"no final newline", strings.TrimSuffix(tc.in, "\n"), strings.TrimSuffix(tc.want, "\n")})
		}
		for _, v := range variants {
			t.Run(tc.name+"/"+v.name, func(t *testing.T) {
				got, err := tc.op([]byte(v.in))
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != v.want {
					t.Errorf("got\n%q\nwant\n%q\ndiff (-want +got):\n%s", got, v.want, lineDiff(v.want, string(got)))
				}
			})
		}
	}
}

// lineDiff lists the lines only in a (-) and only in b (+), in order: enough to read a failure.
func lineDiff(a, b string) string {
	x, y := strings.SplitAfter(a, "\n"), strings.SplitAfter(b, "\n")
	// Longest common subsequence, by dynamic programming (the inputs are small).
	l := make([][]int, len(x)+1)
	for i := range l {
		l[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			i, j = i+1, j+1
		case j < len(y) && (i == len(x) || l[i][j+1] >= l[i+1][j]):
			fmt.Fprintf(&out, "+%q\n", y[j])
			j++
		default:
			fmt.Fprintf(&out, "-%q\n", x[i])
			i++
		}
	}
	return out.String()
}
