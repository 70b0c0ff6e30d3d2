package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/conflux-gql/conflux/examples/mock"
)

// The JavaScript clients of issue 17 against Conflux: Apollo Client runs a deferred query (HttpLink,
// multipart/mixed) and a subscription (GraphQLWsLink, and HttpLink's multipart subscriptions), and the graphql-ws
// and graphql-sse clients subscribe. The
// scripts are testdata/js/streams/*.mjs; each prints one JSON line per result as it gets it.

const streamsSDL = `type Query {
  customer(id: ID!): Customer
}

type Customer {
  id: ID!
  name: String!
  "Slow: GET /scores/{id} answers only when the test lets it."
  score: Int
}
`

// streamsSubSDL is the subscription part of the schema, with the types only it uses.
const streamsSubSDL = `type Subscription {
  "Server-Sent Events of the orders backend (event: order), for one customer."
  orderEvents(customerId: ID!): OrderEvent!
}

type OrderEvent {
  seq: Int!
  status: String!
  "From the catalog backend, batched per event."
  product: Product
}

type Product {
  id: ID!
  name: String!
}
`

const streamsConfig = `schema: [streams.graphqls]
sources:
  crm: {http: {endpoints: [%s]}}
  orders: {http: {endpoints: [%s]}}
  catalog: {http: {endpoints: [%s]}}
bindings:
  Query.customer: {source: crm, path: "/customers/{{args.id}}"}
  Customer.score: {source: crm, path: "/scores/{{parent.id}}", select: score}
`

const streamsSubConfig = `  Subscription.orderEvents:
    source: orders
    path: /orders/events
    query: {customerId: "{{args.customerId}}"}
    subscribe: {mode: sse, event: order}
  OrderEvent.product:
    source: catalog
    path: "/products/{{parent.productId}}"
    batch: {key: "{{parent.productId}}", path: /products, query: {id: "{{keys}}"}, match: id}
`

// streamEvents is how many order events the orders backend sends per subscription before it waits for the
// client to leave; every client takes them all.
const streamEvents = 4

// streamsEnv is Conflux in front of three backends: crm (customers, and a score held until release is closed),
// orders (an SSE stream of order events) and catalog (products, the odd ones 40 ms slower than the even ones,
// so that an event enriched later than the next one would overtake it if events were not delivered in order).
type streamsEnv struct {
	*testEnv
	release  chan struct{} // closing it lets GET /scores/{id} answer
	once     sync.Once
	streams  chan string // each orders stream's customerId, when its request ends (the client left)
	products *mock.Backend
}

// newStreamsEnv starts the backends and Conflux; with subscriptions, the schema has orderEvents.
func newStreamsEnv(t *testing.T, subscriptions bool) *streamsEnv {
	t.Helper()
	e := &streamsEnv{release: make(chan struct{}), streams: make(chan string, 8)}
	t.Cleanup(e.releaseScores)

	crm := http.NewServeMux()
	crm.HandleFunc("GET /customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		mock.WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "name": "Customer " + r.PathValue("id")})
	})
	crm.HandleFunc("GET /scores/{id}", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-e.release:
			mock.WriteJSON(w, http.StatusOK, map[string]any{"score": 42})
		case <-r.Context().Done():
		}
	})

	orders := http.NewServeMux()
	orders.HandleFunc("GET /orders/events", func(w http.ResponseWriter, r *http.Request) {
		customer := r.URL.Query().Get("customerId")
		defer func() { e.streams <- customer }()
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for seq := 1; seq <= streamEvents; seq++ {
			// A comment and an event of another type, which the binding's `event: order` filters out.
			fmt.Fprintf(w, ": keep-alive\n\nevent: audit\ndata: {\"seq\": -1}\n\n")
			fmt.Fprintf(w, "id: %d\nevent: order\ndata: {\"seq\": %d, \"customerId\": %q,\n", seq, seq, customer)
			fmt.Fprintf(w, "data:  \"status\": %q, \"productId\": \"p%d\"}\n\n", []string{"PLACED", "PAID", "SHIPPED", "DELIVERED"}[seq-1], seq)
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the stream stays open until Conflux lets go of it
	})

	catalog := http.NewServeMux()
	catalog.HandleFunc("GET /products", func(w http.ResponseWriter, r *http.Request) {
		out := []map[string]string{}
		for _, id := range mock.Values(r, "id") {
			if strings.ContainsAny(id[len(id)-1:], "13579") {
				select {
				case <-time.After(40 * time.Millisecond):
				case <-r.Context().Done():
					return
				}
			}
			out = append(out, map[string]string{"id": id, "name": "Product " + strings.TrimPrefix(id, "p")})
		}
		mock.WriteJSON(w, http.StatusOK, out)
	})

	backends := map[string]*mock.Backend{}
	var urls []any
	for _, b := range []*mock.Backend{mock.NewBackend("crm", crm), mock.NewBackend("orders", orders), mock.NewBackend("catalog", catalog)} {
		if err := b.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		backends[b.Name()] = b
		urls = append(urls, b.URL())
	}
	e.products = backends["catalog"]
	dir := t.TempDir()
	sdl, config := streamsSDL, streamsConfig
	if subscriptions {
		sdl, config = sdl+"\n"+streamsSubSDL, config+streamsSubConfig
	}
	if err := os.WriteFile(filepath.Join(dir, "streams.graphqls"), []byte(sdl), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "conflux.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, config, urls...), 0o644); err != nil {
		t.Fatal(err)
	}
	e.testEnv = serveConfig(t, cfg, backends)
	return e
}

func (e *streamsEnv) releaseScores() { e.once.Do(func() { close(e.release) }) }

// nodeRun is one client script running under node; its stdout lines arrive on lines as they are printed.
type nodeRun struct {
	lines  chan map[string]any
	stderr bytes.Buffer
}

// runStreamClient runs testdata/js/streams/<script> with args and returns as soon as it started.
func runStreamClient(t *testing.T, script string, args ...string) *nodeRun {
	t.Helper()
	node := ""
	for _, pkg := range []string{"@apollo/client", "graphql-ws", "graphql-sse", "ws", "rxjs"} {
		node = nodeWith(t, pkg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join("streams", script)}, args...)...)
	cmd.Dir = filepath.Join("testdata", "js")
	run := &nodeRun{lines: make(chan map[string]any, 16)}
	cmd.Stderr = &run.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(run.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = map[string]any{"error": "not a JSON line: " + sc.Text()}
			}
			run.lines <- m
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = cmd.Wait()
		if t.Failed() && run.stderr.Len() > 0 {
			t.Logf("%s stderr:\n%s", script, run.stderr.String())
		}
	})
	return run
}

// next returns the script's next line; it fails the test when the script ended or reported an error first.
func (r *nodeRun) next(t *testing.T) map[string]any {
	t.Helper()
	return r.nextWithin(t, 20*time.Second, "")
}

// nextWithin is next with a deadline and what a timeout means.
func (r *nodeRun) nextWithin(t *testing.T, d time.Duration, why string) map[string]any {
	t.Helper()
	select {
	case m, ok := <-r.lines:
		if !ok {
			t.Fatalf("the client exited without another line")
		}
		if m["error"] != nil {
			t.Fatalf("the client failed: %v", m["error"])
		}
		return m
	case <-time.After(d):
		t.Fatalf("no line from the client in %v%s", d, why)
	}
	return nil
}

// normJSON is a JSON text with its objects' keys sorted: what the clients print is compared by value, whatever
// the key order of their output.
func normJSON(t *testing.T, text string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, text)
	}
	return compactJSON(t, v)
}

// compactJSON is v as JSON, the keys of its objects sorted.
func compactJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestStreamsJS_ApolloDefer: Apollo Client's watchQuery over HttpLink (it asks for multipart/mixed with
// deferSpec=20220824) delivers the initial result without the deferred field while the backend still holds the
// score, then, once the score is released, the complete result.
func TestStreamsJS_ApolloDefer(t *testing.T) {
	e := newStreamsEnv(t, false)
	run := runStreamClient(t, "apollo-defer.mjs", e.srv.URL+"/graphql",
		`query Customer($id: ID!) { customer(id: $id) { id name ... @defer { score } } }`, `{"id": "7"}`)

	first := run.nextWithin(t, 10*time.Second, ": Apollo Client hands a multipart part on only once the delimiter after it "+
		"(\\r\\n---) has arrived, so each part must be followed by the next delimiter at once, not when the next part is ready")
	// Apollo Client adds __typename to every selection set.
	if got, want := compactJSON(t, first), normJSON(t, `{"data":{"customer":{"__typename":"Customer","id":"7","name":"Customer 7"}},"dataState":"streaming"}`); got != want {
		t.Fatalf("initial result:\n got %s\nwant %s", got, want)
	}
	// Only now can the deferred part exist: the initial result came before it.
	e.releaseScores()
	if got, want := compactJSON(t, run.next(t)), normJSON(t, `{"data":{"customer":{"__typename":"Customer","id":"7","name":"Customer 7","score":42}},"dataState":"complete"}`); got != want {
		t.Fatalf("complete result:\n got %s\nwant %s", got, want)
	}
	if last := run.next(t); last["done"] != true {
		t.Fatalf("after the complete result: %v", last)
	}
}

// TestStreamsJS_Subscriptions: Apollo Client over GraphQLWsLink and over HttpLink (Apollo's multipart
// subscriptions), a graphql-ws client and a graphql-sse client
// each subscribe to the SSE-backed orderEvents and get the backend's order events — and no other event type —
// in order, each with its product fetched from the catalog, although the odd events' products are the slower
// ones. When the client unsubscribes, Conflux lets go of the upstream stream.
func TestStreamsJS_Subscriptions(t *testing.T) {
	const sub = `subscription Orders($customer: ID!) { orderEvents(customerId: $customer) { seq status product { id name } } }`
	statuses := []string{"PLACED", "PAID", "SHIPPED", "DELIVERED"}
	for _, tc := range []struct {
		script string
		url    func(e *streamsEnv) string
	}{
		{"apollo-ws.mjs", func(e *streamsEnv) string { return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/graphql" }},
		{"graphql-ws.mjs", func(e *streamsEnv) string { return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/graphql" }},
		{"graphql-sse.mjs", func(e *streamsEnv) string { return e.srv.URL + "/graphql" }},
		{"apollo-http.mjs", func(e *streamsEnv) string { return e.srv.URL + "/graphql" }},
	} {
		t.Run(strings.TrimSuffix(tc.script, ".mjs"), func(t *testing.T) {
			e := newStreamsEnv(t, true)
			run := runStreamClient(t, tc.script, tc.url(e), sub, `{"customer": "c9"}`, fmt.Sprint(streamEvents))
			for seq := 1; seq <= streamEvents; seq++ {
				got := compactJSON(t, run.next(t)["data"])
				typename := ""
				if strings.HasPrefix(tc.script, "apollo-") {
					typename = `"__typename":"OrderEvent",`
				}
				product := fmt.Sprintf(`{"id":"p%d","name":"Product %d"}`, seq, seq)
				if typename != "" {
					product = fmt.Sprintf(`{"__typename":"Product","id":"p%d","name":"Product %d"}`, seq, seq)
				}
				want := fmt.Sprintf(`{"orderEvents":{%s"seq":%d,"status":%q,"product":%s}}`, typename, seq, statuses[seq-1], product)
				if want = normJSON(t, want); got != want {
					t.Fatalf("event %d:\n got %s\nwant %s", seq, got, want)
				}
			}
			if last := run.next(t); last["done"] != true {
				t.Fatalf("after %d events: %v", streamEvents, last)
			}
			select {
			case customer := <-e.streams:
				if customer != "c9" {
					t.Errorf("the orders stream was opened for customer %q, want c9", customer)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the orders stream is still open 10s after the client unsubscribed")
			}
			if n := e.products.RequestsTo("/products"); n != streamEvents {
				t.Errorf("catalog got %d batched product requests, want one per event (%d)", n, streamEvents)
			}
		})
	}
}

// TestStreamsJS_Customer360: the example's Subscription.ticketUpdates, forwarded by Conflux to the support
// backend's gqlgen subscription over graphql-transport-ws, as a graphql-ws client sees it: the customer's open
// tickets first, then a ticket opened through Conflux's openTicket mutation while subscribed, each event with
// its last message's author fetched from the CRM backend.
func TestStreamsJS_Customer360(t *testing.T) {
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	const sub = `subscription Tickets($customer: ID!) {
  ticketUpdates(customerId: $customer) { __typename id subject status messages(last: 1) { text author { name } } }
}`
	// The first customer with an open ticket, but 13 and 16, whose tickets the support backend fails on purpose.
	_, all := env.post(`{ customers(limit: 12) { id name tickets { id status } } }`, nil)
	var customer map[string]any
	var openIDs []string
	for _, c := range all["data"].(map[string]any)["customers"].([]any) {
		for _, tk := range c.(map[string]any)["tickets"].([]any) {
			if tk := tk.(map[string]any); tk["status"] == "OPEN" {
				openIDs = append(openIDs, tk["id"].(string))
			}
		}
		if customer = c.(map[string]any); len(openIDs) > 0 {
			break
		}
	}
	if len(openIDs) == 0 {
		t.Fatalf("no customer has an open ticket: %v", all)
	}
	run := runStreamClient(t, "graphql-ws.mjs", "ws"+strings.TrimPrefix(env.srv.URL, "http")+"/graphql", sub,
		fmt.Sprintf(`{"customer": %q}`, customer["id"]), fmt.Sprint(len(openIDs)+1))
	event := func() map[string]any {
		t.Helper()
		line := run.next(t)
		if line["errors"] != nil {
			t.Fatalf("event with errors: %v", line)
		}
		return line["data"].(map[string]any)["ticketUpdates"].(map[string]any)
	}
	author := fmt.Sprintf(`{"name":%q}`, customer["name"])
	for _, id := range openIDs {
		tk := event()
		if tk["id"] != id || tk["status"] != "OPEN" {
			t.Fatalf("event %v, want open ticket %s", tk, id)
		}
		// The last of a ticket's messages is the customer's (examples/customer360/support/messages.go).
		if got := compactJSON(t, tk["messages"]); got != normJSON(t, fmt.Sprintf(`[{"text":"Any news on ticket %s?","author":%s}]`, id, author)) {
			t.Errorf("ticket %s messages: %s", id, got)
		}
	}
	_, opened := env.post(`mutation Open($c: ID!) { openTicket(input: {customerId: $c, subject: "Subscribed", channel: CHAT}) { id } }`,
		map[string]any{"c": customer["id"]})
	id := opened["data"].(map[string]any)["openTicket"].(map[string]any)["id"]
	want := fmt.Sprintf(`{"__typename":"ChatTicket","id":%q,"subject":"Subscribed","status":"OPEN","messages":[{"text":"Any news on ticket %s?","author":%s}]}`, id, id, author)
	if got := compactJSON(t, event()); got != normJSON(t, want) {
		t.Errorf("the opened ticket's event:\n got %s\nwant %s", got, want)
	}
	if last := run.next(t); last["done"] != true {
		t.Fatalf("after the events: %v", last)
	}
}
