package resolvers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
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
			"empty": "", "space": "a b", "list": []any{"p1", "p/2"}, "obj": map[string]any{"a": "1"}, "back": `a\b`,
			"pct": "%2E", "pct2": "%2e%2E", "dotpct": ".%2E", "semi": ";x", "dotsemi": "..;x", "dotdotx": "..x", "none": nil},
		Parent: map[string]any{"profile": map[string]any{"id": "u-1"}},
		Keys:   []any{"p1", "p/2", json.Number("3")},
	}
	tests := []struct {
		name, tpl, want, err string
		keys                 []any // replaces vs.Keys when set
	}{
		{name: "plain", tpl: "/customers/{{args.id}}", want: "/customers/7"},
		{name: "slash is escaped", tpl: "/customers/{{args.slash}}", want: "/customers/a%2Fb"},
		{name: "backslash is escaped", tpl: "/customers/{{args.back}}", want: "/customers/a%5Cb"},
		{name: "query and fragment chars", tpl: "/c/{{args.q}}", want: "/c/x%3Fy%23z"},
		{name: "number", tpl: "/c/{{args.num}}", want: "/c/42"},
		{name: "space", tpl: "/c/{{args.space}}", want: "/c/a%20b"},
		{name: "parent path", tpl: "/users/{{parent.profile.id}}/x", want: "/users/u-1/x"},
		{name: "several variables and segments", tpl: "/c/{{args.id}}-{{args.num}}/x/{{args.id}}", want: "/c/7-42/x/7"},
		{name: "dots inside a longer segment are data", tpl: "/files/{{args.dotdotx}}", want: "/files/..x"},
		{name: "a dot after literal text", tpl: "/files/v{{args.dot}}", want: "/files/v."},
		{name: "keys joined by comma", tpl: "/products/{{keys}}", want: "/products/p1,p%2F2,3"},
		{name: "literal text is escaped where a path cannot carry it", tpl: "/search results/{{args.slash}}|x?y#z", want: "/search%20results/a%2Fb%7Cx%3Fy%23z"},
		{name: "literal brackets and escapes stay", tpl: "/v1/items[0]/%7E{{args.id}}", want: "/v1/items[0]/%7E7"},
		{name: "a literal % that starts no escape is escaped", tpl: "/100%/{{args.id}}%", want: "/100%25/7%25"},
		{name: "one key", tpl: "/products/{{keys}}/x", keys: []any{"p1"}, want: "/products/p1/x"},

		{name: "dot-dot refused", tpl: "/customers/{{args.dots}}/orders", err: `{{args.dots}} would make the request path segment "." or ".."`},
		{name: "dot refused", tpl: "/c/{{args.dot}}", err: `"." or ".."`},
		{name: "escaped dot refused", tpl: "/c/{{args.pct}}", err: `"." or ".."`},
		{name: "escaped dot-dot refused", tpl: "/c/{{args.pct2}}", err: `"." or ".."`},
		{name: "half-escaped dot-dot refused", tpl: "/c/{{args.dotpct}}", err: `"." or ".."`},
		{name: "a literal dot before a dot", tpl: "/files/.{{args.dot}}", err: `"." or ".."`},
		{name: "a literal dot after a dot", tpl: "/files/{{args.dot}}./x", err: `"." or ".."`},
		{name: "a literal escaped dot before a dot", tpl: "/files/%2e{{args.dot}}", err: `"." or ".."`},
		{name: "two dots from two variables", tpl: "/files/{{args.dot}}{{args.dot}}", err: `"." or ".."`},
		{name: "dot-dot before a path parameter", tpl: "/files/{{args.dots}};v=1", err: `"." or ".."`},
		{name: "dot-dot with a path parameter from the value", tpl: "/files/{{args.dotsemi}}", err: `"." or ".."`},
		{name: "nothing before a path parameter", tpl: "/files/{{args.semi}}", err: "empty request path segment"},
		{name: "empty refused", tpl: "/c/{{args.empty}}", err: "{{args.empty}} is empty"},
		{name: "empty refused beside literal text", tpl: "/c/v{{args.empty}}", err: "{{args.empty}} is empty"},
		{name: "missing refused", tpl: "/c/{{args.nope}}", err: "{{args.nope}} is empty"},
		{name: "null refused", tpl: "/c/{{args.none}}", err: "{{args.none}} is empty"},
		{name: "list refused", tpl: "/products/{{args.list}}", err: "{{args.list}} is a list"},
		{name: "object refused", tpl: "/products/{{args.obj}}", err: "{{args.obj}} is an object"},
		{name: "no keys refused", tpl: "/products/{{keys}}", keys: []any{}, err: "{{keys}} is empty"},
		{name: "an empty key refused", tpl: "/products/{{keys}}", keys: []any{"p1", ""}, err: "{{keys}} holds an empty key"},
		{name: "only an empty key refused", tpl: "/products/{{keys}}", keys: []any{""}, err: "{{keys}} holds an empty key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vars := *vs
			if tc.keys != nil {
				vars.Keys = tc.keys
			}
			got, err := renderPath(mustTemplate(t, tc.tpl), &vars, "T.f")
			if tc.err != "" {
				var ie *InputError
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %q, %v; want InputError %q", got, err, tc.err)
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

func TestDotSegment(t *testing.T) {
	for _, seg := range []string{".", "..", "%2E", "%2e", "%2E%2E", "%2e%2E", ".%2E", "%2e.", "%252E", "%252e%252E", "%25252e"} {
		if !dotSegment(seg) {
			t.Errorf("dotSegment(%q) = false", seg)
		}
	}
	for _, seg := range []string{"", "...", "a", ".a", "%2E%2E%2E", "%2F", "%25", "e", "%2", "%zz", "..x", "2e"} {
		if dotSegment(seg) {
			t.Errorf("dotSegment(%q) = true", seg)
		}
	}
}

func TestRenderParam(t *testing.T) {
	vs := &Vars{
		Args:    map[string]any{"id": "7", "ids": []any{"1", json.Number("2")}, "none": nil, "flag": true},
		Headers: http.Header{"X-Tenant": {"acme"}},
		Keys:    []any{"k1", "k2"},
	}
	tests := []struct {
		name  string
		param schema.Param
		want  []string
	}{
		{name: "scalar", param: param(t, "id", "{{args.id}}"), want: []string{"7"}},
		{name: "list repeats", param: param(t, "id", "{{args.ids}}"), want: []string{"1", "2"}},
		{name: "keys repeat", param: param(t, "id", "{{keys}}"), want: []string{"k1", "k2"}},
		{name: "null omitted", param: param(t, "x", "{{args.none}}"), want: nil},
		{name: "absent omitted", param: param(t, "x", "{{args.absent}}"), want: nil},
		{name: "mixed text", param: param(t, "x", "id-{{args.id}}-{{args.flag}}"), want: []string{"id-7-true"}},
		{name: "several values", param: param(t, "x", "a", "{{args.id}}"), want: []string{"a", "7"}},
		{name: "header", param: param(t, "X-Tenant", "{{headers.x-tenant}}"), want: []string{"acme"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := renderParam(tc.param, vs)
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

// TestResolver_BuildHeaders (issue 13): a header value with a control character from the client's input is
// refused with an InputError (BAD_USER_INPUT), neither sent nor silently altered.
func TestResolver_BuildHeaders(t *testing.T) {
	bnd := &schema.Binding{Type: "Query", Field: "orders", Source: "crm"}
	bnd.Request = schema.Request{Method: "GET", Path: mustTemplate(t, "/orders"),
		Headers: []schema.Param{{Name: "X-Tenant", Values: []*schema.Template{mustTemplate(t, "t-{{args.tenant}}")}}}}
	r := &Resolver{Binding: bnd}
	tests := []struct {
		tenant any
		want   string // the header sent; "" when refused
	}{
		{tenant: "acme", want: "t-acme"},
		{tenant: "a\tb c", want: "t-a\tb c"},
		{tenant: "ü", want: "t-ü"},
		{tenant: "a\u000bb"},
		{tenant: "a\r\nX-Admin: 1"},
		{tenant: "a\x00"},
		{tenant: "a\x7f"},
	}
	for _, tc := range tests {
		req, err := r.Build(Vars{Args: map[string]any{"tenant": tc.tenant}}, false)
		if tc.want == "" {
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), "header X-Tenant") {
				t.Errorf("tenant %q: got %v, %v; want an InputError", tc.tenant, req, err)
			}
			continue
		}
		if err != nil || req.Header.Get("X-Tenant") != tc.want {
			t.Errorf("tenant %q: got %v, %v; want X-Tenant %q", tc.tenant, req, err, tc.want)
		}
	}
}

// TestResolver_FetchBadInputSparesOthers (issue 13): requests whose client input cannot be sent (a header with
// \u000b, a path argument "..") fail for that client only: the backend sees none, the breaker (opened by one
// failure) stays closed, and another client's request succeeds.
func TestResolver_FetchBadInputSparesOthers(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"id":"7","tenant":"` + r.Header.Get("X-Tenant") + `"}`))
	}))
	t.Cleanup(srv.Close)
	src, err := sources.NewHTTP(sources.HTTPConfig{Name: "crm", Endpoints: []string{srv.URL},
		Breaker: sources.BreakerConfig{Failures: 1, Cooldown: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	bnd := &schema.Binding{Type: "Query", Field: "customer", Source: "crm"}
	bnd.Request = schema.Request{Method: "GET", Path: mustTemplate(t, "/customers/{{args.id}}"),
		Headers: []schema.Param{{Name: "X-Tenant", Values: []*schema.Template{mustTemplate(t, "{{args.tenant}}")}}}}
	r := &Resolver{Binding: bnd, Source: src}
	for i, args := range []map[string]any{
		{"id": "7", "tenant": "a\u000bb"}, {"id": "7", "tenant": "a\u000bb"}, {"id": "7", "tenant": "\r\n"},
		{"id": "..", "tenant": "acme"}, {"id": "%2e%2E", "tenant": "acme"}, {"id": "", "tenant": "acme"},
	} {
		_, err := r.Fetch(context.Background(), Vars{Args: args})
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Fatalf("bad request %d: err = %v, want an InputError (BAD_USER_INPUT)", i, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("backend hits = %d, want 0", n)
	}
	if st := src.Status().Endpoints[0]; st.Breaker != sources.BreakerClosed || st.Failures != 0 {
		t.Errorf("endpoint after refused requests: %+v", st)
	}
	got, err := r.Fetch(context.Background(), Vars{Args: map[string]any{"id": "7", "tenant": "other"}})
	if err != nil {
		t.Fatalf("another client's request: %v", err)
	}
	if m, _ := got.(map[string]any); m["tenant"] != "other" {
		t.Errorf("another client's answer = %v", got)
	}
}
