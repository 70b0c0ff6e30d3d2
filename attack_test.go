package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/examples/customer360"
)

// cyclicQuery follows the Customer → tickets → messages → author cycle of the example schema n times: the
// answer doubles (or more) at every turn while the document stays a few hundred bytes (issue 13).
func cyclicQuery(n int) string {
	var b strings.Builder
	b.WriteString(`{ customer(id: "1") { name `)
	for range n {
		b.WriteString(`tickets { subject messages { text author { name `)
	}
	for range n {
		b.WriteString(`} } } `)
	}
	b.WriteString(`} }`)
	return b.String()
}

// TestAttack_CyclicQuery sends the cycle at increasing depth. Each one is either answered in full or refused
// before any backend is called, with a limit's code; the deepest is refused; and another client's ordinary
// query is answered meanwhile.
func TestAttack_CyclicQuery(t *testing.T) {
	env := newCustomer360(t, customer360.Options{})
	refusedAt := 0
	for n := 1; n <= 6; n++ {
		var (
			wg     sync.WaitGroup
			status int
			body   map[string]any
		)
		env.resetCounts()
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body = env.post(cyclicQuery(n), nil)
		}()
		assertOrdinaryQuery(t, env)
		wg.Wait()
		if status != 200 {
			t.Fatalf("depth %d: status %d: %v", n, status, body)
		}
		code := firstCode(body)
		switch code {
		case "":
			if refusedAt > 0 {
				t.Errorf("depth %d answered although depth %d was refused", n, refusedAt)
			}
		case "COST_LIMIT_EXCEEDED", "DEPTH_LIMIT_EXCEEDED":
			if refusedAt == 0 {
				refusedAt = n
			}
			if _, ok := body["data"]; ok && body["data"] != nil {
				t.Errorf("depth %d: a refused operation has data: %v", n, body["data"])
			}
			env.resetCounts() // the ordinary query above called backends; the refusal must not
			env.post(cyclicQuery(n), nil)
			for name, c := range env.calls() {
				if c != 0 {
					t.Errorf("depth %d: refused, yet backend %s got %d calls", n, name, c)
				}
			}
		default:
			t.Errorf("depth %d: unexpected error code %s: %v", n, code, body["errors"])
		}
	}
	t.Logf("cycles answered up to depth %d, refused from there", refusedAt-1)
	if refusedAt < 2 {
		t.Errorf("refused at depth %d: want the shallow cycles answered and the deep ones refused", refusedAt)
	}
}

// assertOrdinaryQuery checks that an everyday query from another client is answered in full.
func assertOrdinaryQuery(t *testing.T, env *testEnv) {
	t.Helper()
	status, body := env.post(`{ customer(id: "1") { name orders { status } } }`, nil)
	if status != 200 || body["errors"] != nil {
		t.Errorf("ordinary query: status %d, errors %v", status, body["errors"])
		return
	}
	c, _ := body["data"].(map[string]any)["customer"].(map[string]any)
	if c == nil || c["name"] == nil {
		t.Errorf("ordinary query: no customer in %v", body["data"])
	}
}

// firstCode returns the extensions.code of the response's first error, or "".
func firstCode(body map[string]any) string {
	errs, _ := body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	e, _ := errs[0].(map[string]any)
	ext, _ := e["extensions"].(map[string]any)
	code, _ := ext["code"].(string)
	return code
}

// TestAttack_UpstreamDetails: a failing backend's method and path reach the client only with
// server.exposeUpstreamDetails; by default the message names the source and what failed.
func TestAttack_UpstreamDetails(t *testing.T) {
	for _, expose := range []bool{false, true} {
		t.Run(fmt.Sprint("expose=", expose), func(t *testing.T) {
			env := newCustomer360(t, customer360.Options{})
			env.rt.Supergraph().Settings.ExposeUpstreamDetails = expose
			_, body := env.post(`{ customer(id: "999") { name } }`, nil)
			errs, _ := body["errors"].([]any)
			if len(errs) != 1 {
				t.Fatalf("errors = %v", body["errors"])
			}
			msg, _ := errs[0].(map[string]any)["message"].(string)
			detailed := strings.Contains(msg, "/customers/999") || strings.Contains(msg, "GET")
			if detailed != expose {
				t.Errorf("message %q: shows the backend's method and path = %v, want %v", msg, detailed, expose)
			}
			if !strings.Contains(msg, "crm") || !strings.Contains(msg, "404") {
				t.Errorf("message %q does not say which source failed and how", msg)
			}
		})
	}
}

// hangBackend makes the named backend hold every request until its client goes away, and reports each request's
// arrival and its cancellation.
func hangBackend(env *testEnv, name string) (arrived, cancelled chan struct{}) {
	arrived, cancelled = make(chan struct{}, 100), make(chan struct{}, 100)
	env.backends[name].SetMiddleware(func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			<-r.Context().Done()
			cancelled <- struct{}{}
		})
	})
	return arrived, cancelled
}

// TestAttack_ClientLeaves: when the client disconnects mid-request, the fetch it was waiting for is cancelled at
// once (the backend sees its request end), and another client is served meanwhile. goleak (TestMain) checks that
// nothing of the abandoned request lives on.
func TestAttack_ClientLeaves(t *testing.T) {
	env := newCustomer360(t, customer360.Options{})
	arrived, cancelled := hangBackend(env, "billing")
	defer env.backends["billing"].SetMiddleware(nil)

	ctx, leave := context.WithCancel(context.Background())
	body, _ := json.Marshal(map[string]any{"query": `{ customers(limit: 3) { name invoices { status } } }`})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, env.srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	done := make(chan error, 1)
	go func() {
		resp, err := env.srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitOn(t, arrived, "the billing request to arrive")
	assertOrdinaryQuery(t, env)
	leave()
	waitOn(t, cancelled, "Conflux to cancel the billing request after its client left")
	if err := <-done; err == nil {
		t.Error("the abandoned request got an answer")
	}
}

// TestAttack_OperationTimeout: server.operationTimeout bounds an operation whose backend never answers; the
// fields it would fill are null with located OPERATION_TIMEOUT errors and the rest is answered.
func TestAttack_OperationTimeout(t *testing.T) {
	env := newCustomer360(t, customer360.Options{})
	env.rt.Supergraph().Settings.OperationTimeout = 300 * time.Millisecond
	_, cancelled := hangBackend(env, "loyalty")
	defer env.backends["loyalty"].SetMiddleware(nil)

	status, body := env.post(`{ customers(limit: 2) { name loyalty { points } } }`, nil)
	if status != 200 || firstCode(body) != "OPERATION_TIMEOUT" {
		t.Fatalf("status %d, body %v: want 200 with OPERATION_TIMEOUT", status, body)
	}
	customers, _ := body["data"].(map[string]any)["customers"].([]any)
	if len(customers) != 2 || customers[0].(map[string]any)["name"] == nil {
		t.Errorf("the customers fetched before the timeout are missing: %v", body["data"])
	}
	waitOn(t, cancelled, "the loyalty request to be cancelled")
}

// waitOn waits for one event on ch, failing the test after 5 s.
func waitOn(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
