package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/conflux-gql/conflux/examples/posts"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestCallCounts: a query over 20 customers with their orders, products, recommendations, invoices and
// tickets costs one upstream call per binding, whatever the list sizes.
func TestCallCounts(t *testing.T) {
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	env.resetCounts()
	status, resp := env.post(`{
	  customers(limit: 20) {
	    id
	    orders { lines { product { name } recommendations { product { name } } } }
	    invoices { id }
	    tickets { id }
	    loyalty { points }
	  }
	}`, nil)
	if status != 200 || resp["errors"] != nil {
		t.Fatalf("status %d, errors %v", status, resp["errors"])
	}
	if n := len(resp["data"].(map[string]any)["customers"].([]any)); n != 20 {
		t.Fatalf("got %d customers, want 20", n)
	}
	want := map[string]int64{
		"crm":             1, // Query.customers
		"orders":          1, // Customer.orders for 20 customers
		"catalog":         2, // OrderLine.product and Recommendation.product: one call per binding
		"recommendations": 1, // OrderLine.recommendations for every line
		"billing":         1, // Customer.invoices: one POST
		"support":         1, // Customer.tickets: one GraphQL request, one aliased root field per customer
		"loyalty":         1, // Customer.loyalty: one _entities request for 20 representations
	}
	if got := env.calls(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("upstream calls = %v, want %v", got, want)
	}
	// Duplicate keys (the same product on many lines) are sent once.
	for _, c := range env.backends["catalog"].Recorded() {
		path := strings.TrimPrefix(c.RequestURI, "/products/")
		seen := map[string]bool{}
		for _, id := range strings.Split(path, ",") {
			if seen[id] {
				t.Errorf("catalog call %s repeats key %s", c.RequestURI, id)
			}
			seen[id] = true
		}
	}
}

// TestPostsCallCount: the posts example costs exactly two upstream calls.
func TestPostsCallCount(t *testing.T) {
	env := newPosts(t, posts.Options{})
	env.resetCounts()
	status, resp := env.post(`{ posts { id title user { id name email } } }`, nil)
	if status != 200 || resp["errors"] != nil {
		t.Fatalf("status %d, errors %v", status, resp["errors"])
	}
	if got := env.backends["api"].Requests(); got != 2 {
		t.Errorf("upstream calls = %d, want 2: %v", got, env.backends["api"].Recorded())
	}
	calls := env.backends["api"].Recorded()
	if len(calls) == 2 && calls[1].RequestURI != "/users?id=1&id=10&id=2&id=3&id=4&id=5&id=6&id=7&id=8&id=9" &&
		!strings.HasPrefix(calls[1].RequestURI, "/users?id=") {
		t.Errorf("second call = %s", calls[1].RequestURI)
	}
}

// gate holds the requests of some backends until n of them are in flight at once. If the engine ran those
// fetches one after another, fewer than n would ever arrive together and the gate would fail them at its
// deadline: parallelism is shown by an event, not by timing.
type gate struct {
	n       int
	mu      sync.Mutex
	arrived int
	open    chan struct{}
}

func newGate(n int) *gate { return &gate{n: n, open: make(chan struct{})} }

func (g *gate) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.arrived++
		if g.arrived == g.n {
			close(g.open)
		}
		g.mu.Unlock()
		select {
		case <-g.open:
			next.ServeHTTP(w, r)
		case <-time.After(5 * time.Second):
			http.Error(w, "gate: the other branches never arrived", http.StatusServiceUnavailable)
		case <-r.Context().Done():
		}
	})
}

// TestParallelBranches: after the customers arrive, orders, billing and support are called concurrently.
func TestParallelBranches(t *testing.T) {
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	g := newGate(3)
	for _, name := range []string{"orders", "billing", "support"} {
		env.backends[name].SetMiddleware(g.middleware)
	}
	status, resp := env.post(`{ customers(limit: 5) { orders { id } invoices { id } tickets { id } } }`, nil)
	if status != 200 || resp["errors"] != nil {
		t.Fatalf("status %d, errors %v", status, resp["errors"])
	}
}

// TestPartialResults: a failing backend nulls only its fields, with one located error per path; a failure on a
// non-null field propagates to the nearest nullable parent.
func TestPartialResults(t *testing.T) {
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	env.backends["billing"].SetMiddleware(func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusInternalServerError) })
	})
	env.backends["support"].SetMiddleware(func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{not json")) })
	})
	status, raw := env.postRaw(`{ customer(id: 1) { name tickets { id } } customers(limit: 2) { id orders { id } } }`, nil)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	golden(t, "testdata/partial_results.json", pretty(t, raw))

	// Customer.invoices is [Invoice!]!, so its failure nulls each customer; customers is [Customer!]!, so the
	// whole list is null, and as Query.customers is non-null too, data is null — with one error per path.
	_, raw = env.postRaw(`{ customers(limit: 2) { id invoices { id } } }`, nil)
	golden(t, "testdata/partial_results_bubbling.json", pretty(t, raw))
}

// TestHTTP covers the transport: methods, status codes, limits and the side endpoints.
func TestHTTP(t *testing.T) {
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	get := func(q string) string { return "/graphql?query=" + url.QueryEscape(q) }
	tests := []struct {
		name, method, path, contentType, body string
		wantStatus                            int
		wantBody                              string
	}{
		{name: "POST query", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"{ customer(id: 1) { name } }"}`,
			wantStatus: 200, wantBody: `{"data":{"customer":{"name":"Ada Lovelace"}}}`},
		{name: "GET query", method: "GET", path: get(`{ customer(id: 2) { name } }`), wantStatus: 200, wantBody: `{"data":{"customer":{"name":"Grace Hopper"}}}`},
		{name: "GET mutation refused", method: "GET", path: get(`mutation { addNote(customerId: 1, text: "x") { id } }`), wantStatus: 405, wantBody: `GET requests only allow query operations`},
		{name: "malformed JSON body", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":`, wantStatus: 400, wantBody: `"code":"BAD_REQUEST"`},
		{name: "parse error", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"{ customer(id: 1) { name "}`, wantStatus: 200, wantBody: `"code":"GRAPHQL_PARSE_FAILED"`},
		{name: "validation error", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"{ customer(id: 1) { nope } }"}`, wantStatus: 200, wantBody: `Cannot query field \"nope\" on type \"Customer\"`},
		{name: "missing variable", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"query($id: ID!) { customer(id: $id) { id } }"}`, wantStatus: 200, wantBody: `must be defined`},
		{name: "body too large", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"{ __typename }", "pad":"` + strings.Repeat("x", 2<<20) + `"}`, wantStatus: 413, wantBody: `"code":"REQUEST_TOO_LARGE"`},
		{name: "APQ miss asks for the query", method: "POST", path: "/graphql", contentType: "application/json", body: `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38"}}}`, wantStatus: 200, wantBody: `PersistedQueryNotFound`},
		{name: "APQ register", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"{__typename}","extensions":{"persistedQuery":{"version":1,"sha256Hash":"ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38"}}}`, wantStatus: 200, wantBody: `{"data":{"__typename":"Query"}}`},
		{name: "APQ hit", method: "POST", path: "/graphql", contentType: "application/json", body: `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38"}}}`, wantStatus: 200, wantBody: `{"data":{"__typename":"Query"}}`},
		{name: "OPTIONS", method: "OPTIONS", path: "/graphql", wantStatus: 200},
		{name: "playground", method: "GET", path: "/", wantStatus: 200, wantBody: "graphiql"},
		{name: "healthz", method: "GET", path: "/healthz", wantStatus: 200, wantBody: `"status":"ok"`},
		{name: "readyz", method: "GET", path: "/readyz", wantStatus: 200, wantBody: `"ready"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := env.do(tc.method, tc.path, tc.contentType, []byte(tc.body))
			if status != tc.wantStatus {
				t.Errorf("status = %d, want %d: %s", status, tc.wantStatus, body)
			}
			if !strings.Contains(strings.ToLower(string(body)), strings.ToLower(tc.wantBody)) {
				t.Errorf("body = %.300s, want it to contain %s", body, tc.wantBody)
			}
		})
	}
}

// TestServerSettings: the server section turns introspection and the playground off and limits depth and
// aliases.
func TestServerSettings(t *testing.T) {
	dir := t.TempDir()
	sdl := `type Query { me: User } type User { name: String friend: User }`
	config := `
schema: [s.graphqls]
sources:
  fixtures: {static: {name: Ada, friend: {name: Grace, friend: {name: Alan}}}}
bindings:
  Query.me: {source: fixtures}
server: {introspection: false, playground: false, maxDepth: 3, maxAliases: 1, planExtension: true}
`
	if err := os.WriteFile(filepath.Join(dir, "s.graphqls"), []byte(sdl), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "conflux.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	env := serveConfig(t, filepath.Join(dir, "conflux.yaml"), nil)
	tests := []struct{ name, query, want string }{
		{name: "static source", query: `{ me { name friend { name } } }`, want: `{"data":{"me":{"name":"Ada","friend":{"name":"Grace"}}},"extensions"`},
		{name: "introspection off", query: `{ __schema { queryType { name } } }`, want: `"code":"INTROSPECTION_DISABLED"`},
		{name: "depth limit", query: `{ me { friend { friend { name } } } }`, want: `nested deeper than the limit of 3`},
		{name: "alias limit", query: `{ a: me { name } b: me { name } }`, want: `uses 2 aliases; the limit is 1`},
		{name: "plan extension", query: `{ me { name } }`, want: `"extensions":{"plan":{"fetches":[{"id":1,"binding":"Query.me","source":"fixtures"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, raw := env.postRaw(tc.query, nil)
			if !strings.Contains(string(raw), tc.want) {
				t.Errorf("got %s, want it to contain %s", raw, tc.want)
			}
		})
	}
	if status, _ := env.do("GET", "/", "", nil); status != 404 {
		t.Errorf("playground status = %d, want 404 when off", status)
	}
}

// TestConcurrentClients: many clients at once get complete, identical answers (run with -race).
func TestConcurrentClients(t *testing.T) {
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	q := `{ customers(limit: 10) { id orders { id lines { product { name } } } invoices { id } } }`
	_, first := env.postRaw(q, nil)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				_, got := env.postRaw(q, nil)
				if string(got) != string(first) {
					t.Errorf("answer differs under concurrency:\n%s\n%s", got, first)
					return
				}
			}
		}()
	}
	wg.Wait()
	var v map[string]any
	if err := json.Unmarshal(first, &v); err != nil || v["errors"] != nil {
		t.Fatalf("bad answer: %s", first)
	}
}

// TestMutationOrder: root mutation fields run one after the other; the second starts only when the first,
// with everything below it, is done.
func TestMutationOrder(t *testing.T) {
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	crm, support := env.backends["crm"], env.backends["support"]
	// Each crm call records how many support calls came before it: in order, that is 0 then 1.
	var mu sync.Mutex
	var seen []int64
	crm.SetMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, support.Requests())
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	})
	env.resetCounts()
	_, raw := env.postRaw(`mutation { a: addNote(customerId: 1, text: "one") { id } t: openTicket(input: {customerId: 1, subject: "s"}) { id } b: addNote(customerId: 1, text: "two") { text } }`, nil)
	if !strings.Contains(string(raw), `"a":{"id":"n1"}`) || !strings.Contains(string(raw), `"b":{"text":"two"}`) {
		t.Fatalf("got %s", raw)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(seen) != "[0 1]" {
		t.Errorf("support calls seen by each addNote = %v, want [0 1]: mutations did not run in order", seen)
	}
	notes := crm.Recorded()
	if len(notes) != 2 || !strings.Contains(notes[0].Body, "one") || !strings.Contains(notes[1].Body, "two") {
		t.Errorf("crm calls = %v", notes)
	}
	// The support service is GraphQL: the input object travels as a typed variable, with its default channel.
	if calls := support.Recorded(); len(calls) != 1 || !strings.Contains(calls[0].Body, `"variables":{"_r_input":{"channel":"EMAIL","customerId":"1","subject":"s"}}`) ||
		!strings.Contains(calls[0].Body, `mutation($_r_input: NewTicket!) { r: openTicket(input: $_r_input)`) {
		t.Errorf("support calls = %v", calls)
	}
}

// TestIntrospection: GraphiQL's full introspection query works and is answered from the per-version cache.
func TestIntrospection(t *testing.T) {
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	status, first := env.postRaw(introspection.Query, nil)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	var resp struct {
		Data struct {
			Schema struct {
				Types []struct{ Name string } `json:"types"`
			} `json:"__schema"`
		} `json:"data"`
		Errors []any `json:"errors"`
	}
	if err := json.Unmarshal(first, &resp); err != nil || resp.Errors != nil {
		t.Fatalf("bad response: %v %s", err, first[:200])
	}
	names := map[string]bool{}
	for _, ty := range resp.Data.Schema.Types {
		names[ty.Name] = true
	}
	for _, want := range []string{"Customer", "Ticket", "SearchResult", "NewTicket", "__Schema", "String"} {
		if !names[want] {
			t.Errorf("introspection lacks type %s", want)
		}
	}
	_, second := env.postRaw(introspection.Query, nil)
	if string(first) != string(second) {
		t.Error("introspection answers differ between requests")
	}
}
