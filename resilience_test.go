package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/conflux-gql/conflux/examples/mock"
	"github.com/conflux-gql/conflux/schema"
)

// newResilient starts Customer 360 with short timeouts and breakers on every source, so faults show quickly.
func newResilient(t *testing.T) *testEnv {
	t.Helper()
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	data := env.rt.Supergraph().Raw
	for name, src := range env.rt.Supergraph().Sources {
		var err error
		sdl := ""
		if src.HTTP.SDL != "" {
			sdl = ", sdl: " + src.HTTP.SDL
		}
		data, err = schema.SetEntry(data, "sources", name, []byte(fmt.Sprintf(
			`{%s: {endpoints: [%q], timeout: 300ms, breaker: {failures: 3, cooldown: 150ms}%s}}`, src.Kind, src.HTTP.Endpoints[0], sdl)))
		if err != nil {
			t.Fatal(err)
		}
	}
	s := env.srv.Config.Handler.(*server)
	if _, err := s.rt.Write(data, nil, false); err != nil {
		t.Fatal(err)
	}
	env.rt = s.rt.Load()
	t.Cleanup(func() { s.rt.Close() })
	return env
}

type answer struct {
	Data   map[string]any `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Locations  []any          `json:"locations"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (e *testEnv) answer(q string) answer {
	e.t.Helper()
	status, raw := e.postRaw(q, nil)
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil || status != 200 {
		e.t.Fatalf("status %d: %s", status, raw)
	}
	return a
}

// c360 touches every backend: crm (customer), orders, catalog (products, and the product root field),
// recommendations, billing (invoices) and support (tickets).
const c360 = `{
  customer(id: 1) {
    name
    orders { id lines { product { name } recommendations { score } } }
    invoices { id }
    tickets { id }
  }
  product(id: "p2") { name }
}`

// faults are the ways a backend fails: it answers 500s, hangs, or is killed; each returns its recovery.
var faults = []struct {
	name   string
	codes  []string
	inject func(t *testing.T, b *mock.Backend) (recover func())
}{
	{name: "floods 500s", codes: []string{"UPSTREAM_HTTP_ERROR", "CIRCUIT_OPEN"},
		inject: func(t *testing.T, b *mock.Backend) func() {
			b.SetMiddleware(func(http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
			})
			return func() { b.SetMiddleware(nil) }
		}},
	{name: "hangs", codes: []string{"UPSTREAM_TIMEOUT", "CIRCUIT_OPEN"},
		inject: func(t *testing.T, b *mock.Backend) func() {
			b.SetMiddleware(func(http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
			})
			return func() { b.SetMiddleware(nil) }
		}},
	{name: "is killed", codes: []string{"UPSTREAM_UNAVAILABLE", "CIRCUIT_OPEN"},
		inject: func(t *testing.T, b *mock.Backend) func() {
			addr := strings.TrimPrefix(b.URL(), "http://")
			b.Close()
			return func() {
				if err := b.Start(addr); err != nil {
					t.Fatalf("restart: %v", err)
				}
			}
		}},
}

// TestFaults: whichever backend is killed, hangs or floods errors, the answer arrives with everything the other
// backends can give and located errors of the right code naming that backend; when it recovers (through a
// half-open breaker trial), answers are whole again.
func TestFaults(t *testing.T) {
	for _, backend := range []string{"crm", "orders", "catalog", "recommendations", "billing", "support"} {
		for _, f := range faults {
			t.Run(backend+" "+f.name, func(t *testing.T) {
				env := newResilient(t)
				if a := env.answer(c360); len(a.Errors) != 0 {
					t.Fatalf("healthy answer has errors: %+v", a.Errors)
				}
				recover := f.inject(t, env.backends[backend])
				seen := map[string]bool{}
				for i := 0; i < 5; i++ {
					a := env.answer(c360)
					if len(a.Errors) == 0 || a.Data == nil {
						t.Fatalf("want partial data with errors, got %+v", a)
					}
					// The product root field depends on the catalog only: every other fault leaves it whole.
					if backend != "catalog" && a.Data["product"] == nil {
						t.Errorf("an unrelated field was lost: %+v", a.Data)
					}
					for _, e := range a.Errors {
						code, _ := e.Extensions["code"].(string)
						seen[code] = true
						if len(e.Locations) == 0 || len(e.Path) == 0 || e.Extensions["source"] != backend {
							t.Errorf("error not located on %s: %+v", backend, e)
						}
					}
				}
				for _, c := range f.codes {
					if !seen[c] {
						t.Errorf("never saw %s (saw %v)", c, seen)
					}
				}
				recover()
				deadline := time.Now().Add(5 * time.Second)
				for {
					a := env.answer(c360)
					if len(a.Errors) == 0 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("no recovery: %+v", a.Errors)
					}
					time.Sleep(50 * time.Millisecond)
				}
			})
		}
	}
}

// TestFaults_Fallback: a binding with a fallback answers it when its backend fails; with required the parent
// becomes null even though the field is nullable.
func TestFaults_FallbackAndRequired(t *testing.T) {
	env := newResilient(t)
	env.backends["catalog"].SetMiddleware(func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	})
	s := env.srv.Config.Handler.(*server)
	cfg := string(env.rt.Supergraph().Raw)
	for _, tc := range []struct {
		name, binding, want string
	}{
		{"fallback", `  Query.product: {source: catalog, path: "/products/{{args.id}}", fallback: {id: "{{args.id}}", name: unavailable, price: {amount: 0, currency: EUR}, inStock: false}}` + "\n",
			`{"data":{"product":{"id":"p1","name":"unavailable"}}}`},
		{"required", `  Query.product: {source: catalog, path: "/products/{{args.id}}", required: true}` + "\n",
			`"data":null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := strings.Replace(cfg, "  Query.product:\n    source: catalog\n    path: /products/{{args.id}}\n", tc.binding, 1)
			c := s.rt
			if _, err := c.Write([]byte(next), nil, false); err != nil {
				t.Fatal(err)
			}
			if _, raw := env.postRaw(`{ product(id: "p1") { id name } }`, nil); !strings.Contains(string(raw), tc.want) {
				t.Errorf("got %s, want %s", raw, tc.want)
			}
		})
	}
}

// TestLoad_BackendFailsHalfway: a bounded concurrent load (loopback, fixed count) while the orders backend fails
// from a quarter to half of the run: no crash, no lost answer, every failure located, whole answers after.
func TestLoad_BackendFailsHalfway(t *testing.T) {
	const workers, perWorker = 8, 60
	env := newResilient(t)
	var sent atomic.Int64
	var failing atomic.Bool
	env.backends["orders"].SetMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() {
				w.WriteHeader(503)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	var whole, partial, lost atomic.Int64
	var mu sync.Mutex
	var unlocated []string
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				n := sent.Add(1)
				switch n {
				case workers * perWorker / 4:
					failing.Store(true)
				case workers * perWorker / 2:
					failing.Store(false)
				}
				status, raw := env.postRaw(`{ customers(limit: 5) { id invoices { id } } c: customer(id: 2) { orders { id } } }`, nil)
				var a answer
				if status != 200 || json.Unmarshal(raw, &a) != nil || a.Data == nil {
					lost.Add(1)
					continue
				}
				if len(a.Errors) == 0 {
					whole.Add(1)
					continue
				}
				partial.Add(1)
				for _, e := range a.Errors {
					if len(e.Path) == 0 || len(e.Locations) == 0 || e.Extensions["code"] == nil {
						mu.Lock()
						unlocated = append(unlocated, e.Message)
						mu.Unlock()
					}
				}
				if a.Data["customers"] == nil {
					lost.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d requests: %d whole, %d partial, %d lost", workers*perWorker, whole.Load(), partial.Load(), lost.Load())
	if lost.Load() != 0 || len(unlocated) != 0 {
		t.Errorf("%d lost answers, unlocated errors: %v", lost.Load(), unlocated)
	}
	if partial.Load() == 0 {
		t.Error("the failure never showed: the test did not test anything")
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(env.answer(`{ c: customer(id: 2) { orders { id } } }`).Errors) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("no recovery after the backend came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
