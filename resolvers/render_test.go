package resolvers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/schema"
)

func mustTemplate(t testing.TB, s string) *schema.Template {
	t.Helper()
	tpl, err := schema.ParseTemplate(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return tpl
}

func TestRenderPath(t *testing.T) {
	vs := &Vars{
		Args: map[string]any{"id": "7", "slash": "a/b", "dots": "..", "dot": ".", "q": "x?y#z", "num": json.Number("42"),
			"empty": "", "space": "a b", "list": []any{"p1", "p/2", json.Number("3")}},
		Parent: map[string]any{"profile": map[string]any{"id": "u-1"}},
	}
	tests := []struct {
		name, tpl, want, err string
	}{
		{name: "plain", tpl: "/customers/{{args.id}}", want: "/customers/7"},
		{name: "slash is escaped", tpl: "/customers/{{args.slash}}", want: "/customers/a%2Fb"},
		{name: "dot-dot cannot climb", tpl: "/customers/{{args.dots}}/orders", want: "/customers/%2E%2E/orders"},
		{name: "single dot", tpl: "/c/{{args.dot}}", want: "/c/%2E"},
		{name: "query and fragment chars", tpl: "/c/{{args.q}}", want: "/c/x%3Fy%23z"},
		{name: "number", tpl: "/c/{{args.num}}", want: "/c/42"},
		{name: "space", tpl: "/c/{{args.space}}", want: "/c/a%20b"},
		{name: "parent path", tpl: "/users/{{parent.profile.id}}/x", want: "/users/u-1/x"},
		{name: "keys list joined by comma", tpl: "/products/{{args.list}}", want: "/products/p1,p%2F2,3"},
		{name: "empty refused", tpl: "/c/{{args.empty}}", err: "{{args.empty}} is empty"},
		{name: "missing refused", tpl: "/c/{{args.nope}}", err: "{{args.nope}} is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := renderPath(mustTemplate(t, tc.tpl), vs, "T.f")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			u, err := url.Parse("http://h" + got)
			if err != nil {
				t.Fatal(err)
			}
			if u.Host != "h" || u.RawQuery != "" || u.Fragment != "" {
				t.Errorf("rendered path changed the URL structure: %#v", u)
			}
		})
	}
}

func TestRenderParam(t *testing.T) {
	vs := &Vars{
		Args:    map[string]any{"id": "7", "ids": []any{"1", json.Number("2")}, "none": nil, "flag": true},
		Headers: http.Header{"X-Tenant": {"acme"}, "X-Evil": {"a\r\nInjected: yes"}},
		Keys:    []any{"k1", "k2"},
	}
	tests := []struct {
		name  string
		param schema.Param
		clean func(string) string
		want  []string
	}{
		{name: "scalar", param: param(t, "id", "{{args.id}}"), want: []string{"7"}},
		{name: "list repeats", param: param(t, "id", "{{args.ids}}"), want: []string{"1", "2"}},
		{name: "keys repeat", param: param(t, "id", "{{keys}}"), want: []string{"k1", "k2"}},
		{name: "null omitted", param: param(t, "x", "{{args.none}}"), want: nil},
		{name: "absent omitted", param: param(t, "x", "{{args.absent}}"), want: nil},
		{name: "mixed text", param: param(t, "x", "id-{{args.id}}-{{args.flag}}"), want: []string{"id-7-true"}},
		{name: "several values", param: param(t, "x", "a", "{{args.id}}"), want: []string{"a", "7"}},
		{name: "header", param: param(t, "X-Tenant", "{{headers.x-tenant}}"), clean: headerValue, want: []string{"acme"}},
		{name: "header injection stripped", param: param(t, "X", "{{headers.x-evil}}"), clean: headerValue, want: []string{"aInjected: yes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clean := tc.clean
			if clean == nil {
				clean = identity
			}
			got := renderParam(tc.param, vs, clean)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func param(t *testing.T, name string, values ...string) schema.Param {
	p := schema.Param{Name: name}
	for _, v := range values {
		p.Values = append(p.Values, mustTemplate(t, v))
	}
	return p
}

func TestRenderBody(t *testing.T) {
	vs := &Vars{Args: map[string]any{"input": map[string]any{"a": json.Number("1"), "b": "x"}, "name": `Ada "the" <first>`}, Keys: []any{"1", "2"}}
	tests := []struct {
		name  string
		value *schema.Value
		want  string
	}{
		{name: "whole object inserted", value: tplValue(t, "{{args.input}}"), want: `{"a":1,"b":"x"}`},
		{name: "keys as array", value: objValue("ids", tplValue(t, "{{keys}}")), want: `{"ids":["1","2"]}`},
		{name: "mixed template is a string", value: objValue("greeting", tplValue(t, "hi {{args.name}}")), want: `{"greeting":"hi Ada \"the\" <first>"}`},
		{name: "absent is null", value: objValue("x", tplValue(t, "{{args.nope}}")), want: `{"x":null}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := renderBody(tc.value, vs)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func tplValue(t *testing.T, s string) *schema.Value {
	return &schema.Value{Kind: schema.ValueTemplate, Template: mustTemplate(t, s)}
}

func objValue(name string, v *schema.Value) *schema.Value {
	return &schema.Value{Kind: schema.ValueObject, Fields: []schema.ValueField{{Name: name, Value: v}}}
}

func TestResolver_Match(t *testing.T) {
	items := []any{
		map[string]any{"customerId": json.Number("1"), "id": "o1"},
		map[string]any{"customerId": "2", "id": "o2"},
		map[string]any{"customerId": "1", "id": "o3"},
		map[string]any{"id": "orphan"},
	}
	tests := []struct {
		name  string
		list  bool
		match [][]string
		keys  []string
		items any
		want  []any
		err   bool
	}{
		{name: "list gets all matches in response order", list: true, match: [][]string{{"customerId"}}, keys: []string{"1", "2", "3"}, items: items,
			want: []any{[]any{items[0], items[2]}, []any{items[1]}, []any{}}},
		{name: "single gets the first, nil for none", match: [][]string{{"customerId"}}, keys: []string{"2", "1", "9"}, items: items,
			want: []any{items[1], items[0], nil}},
		{name: "positional", keys: []string{"a", "b"}, items: []any{"x", nil}, want: []any{"x", nil}},
		{name: "positional short answer", keys: []string{"a", "b"}, items: []any{"x"}, want: []any{"x", nil}},
		{name: "null answer", list: true, match: [][]string{{"customerId"}}, keys: []string{"1"}, items: nil, want: []any{[]any{}}},
		{name: "not a list", keys: []string{"1"}, items: map[string]any{}, err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &Resolver{Binding: &schema.Binding{Type: "T", Field: "f", Batch: &schema.Batch{Match: tc.match}}, List: tc.list}
			got, err := r.Match(tc.keys, tc.items)
			if tc.err {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCanon(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{json.Number("1"), "1"}, {"1", "1"}, {json.Number("1.0"), "1"}, {json.Number("1.5"), "1.5"}, {true, "true"}, {int64(7), "7"},
	}
	for _, tc := range tests {
		if got := canon(tc.in); got != tc.want {
			t.Errorf("canon(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// BenchmarkRenderPath renders a two-variable path, the hot path of every unbatched fetch.
func BenchmarkRenderPath(b *testing.B) {
	tpl := mustTemplate(b, "/customers/{{args.id}}/orders/{{parent.orderId}}")
	vs := &Vars{Args: map[string]any{"id": "c-42"}, Parent: map[string]any{"orderId": json.Number("7")}}
	b.ReportAllocs()
	for b.Loop() {
		got, err := renderPath(tpl, vs, "T.f")
		if err != nil || got != "/customers/c-42/orders/7" {
			b.Fatalf("got %q, %v", got, err)
		}
	}
}

// BenchmarkResolver_Build renders a whole request: path, query and a header fed by client input.
func BenchmarkResolver_Build(b *testing.B) {
	bnd := &schema.Binding{Type: "Query", Field: "orders", Source: "crm"}
	bnd.Request = schema.Request{Method: "GET", Path: mustTemplate(b, "/customers/{{args.id}}/orders"),
		Query:   []schema.Param{{Name: "status", Values: []*schema.Template{mustTemplate(b, "{{args.status}}")}}},
		Headers: []schema.Param{{Name: "X-Tenant", Values: []*schema.Template{mustTemplate(b, "{{args.tenant}}")}}}}
	r := &Resolver{Binding: bnd}
	vs := Vars{Args: map[string]any{"id": "c-42", "status": "open", "tenant": "acme"}}
	b.ReportAllocs()
	for b.Loop() {
		req, err := r.Build(vs, false)
		if err != nil || req.Path != "/customers/c-42/orders" || req.Header.Get("X-Tenant") != "acme" {
			b.Fatalf("got %+v, %v", req, err)
		}
	}
}
