package customer360

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/conflux-gql/conflux/examples/customer360/loyalty"
	"github.com/conflux-gql/conflux/examples/customer360/support"
	"github.com/conflux-gql/conflux/examples/mock"
)

// DefaultAddrs are the listen addresses `go run .` uses; examples/customer360/conflux.yaml points at them.
var DefaultAddrs = map[string]string{
	"crm":             "127.0.0.1:9101",
	"orders":          "127.0.0.1:9102",
	"catalog":         "127.0.0.1:9103",
	"billing":         "127.0.0.1:9104",
	"support":         "127.0.0.1:9105",
	"recommendations": "127.0.0.1:9106",
	"loyalty":         "127.0.0.1:9107",
}

// DefaultLatency is each backend's simulated latency; billing is the slow one.
var DefaultLatency = map[string]time.Duration{
	"crm": 2 * time.Millisecond, "orders": 3 * time.Millisecond, "catalog": 2 * time.Millisecond,
	"billing": 15 * time.Millisecond, "support": 3 * time.Millisecond, "recommendations": 4 * time.Millisecond,
	"loyalty": 2 * time.Millisecond,
}

// Options configure the example backends.
type Options struct {
	// Customers is the number of customers; 0 means 25.
	Customers int
	// Latency overrides DefaultLatency per backend name (0 turns it off).
	Latency map[string]time.Duration
}

// Start starts the six backends on addrs (name → address; missing ones get a free loopback port).
func Start(opts Options, addrs map[string]string) (*mock.Group, error) {
	if opts.Customers <= 0 {
		opts.Customers = 25
	}
	g := NewGroup(NewDataset(opts.Customers))
	for name, b := range DefaultLatency {
		if d, ok := opts.Latency[name]; ok {
			b = d
		}
		g.Backend(name).SetLatency(b)
	}
	if err := g.Start(addrs); err != nil {
		return nil, err
	}
	return g, nil
}

// NewGroup returns the six backends over d, not yet listening.
func NewGroup(d *Dataset) *mock.Group {
	s := &store{d: d}
	return mock.NewGroup(
		mock.NewBackend("crm", s.crm()),
		mock.NewBackend("orders", s.orders()),
		mock.NewBackend("catalog", s.catalog()),
		mock.NewBackend("billing", s.billing()),
		mock.NewBackend("support", s.support()),
		mock.NewBackend("recommendations", s.recommendations()),
		// An Apollo Federation subgraph (gqlgen): Customer entities with their loyalty.
		mock.NewBackend("loyalty", loyalty.NewHandler()),
	)
}

// store serves the dataset; notes and new tickets are kept in memory under mu.
type store struct {
	d       *Dataset
	mu      sync.Mutex
	notes   []Note
	tickets []Ticket
}

func set(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func (s *store) crm() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /customers", func(w http.ResponseWriter, r *http.Request) {
		ids := set(mock.Values(r, "id"))
		segment := r.URL.Query().Get("segment")
		limit := len(s.d.Customers)
		if l := r.URL.Query().Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 0 {
				mock.Fail(w, http.StatusBadRequest, "limit must be a non-negative integer")
				return
			}
			limit = n
		}
		out := []Customer{}
		for _, c := range s.d.Customers {
			if len(out) == limit {
				break
			}
			if (len(ids) == 0 || ids[c.ID]) && (segment == "" || segment == c.Segment) {
				out = append(out, c)
			}
		}
		mock.WriteJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		for _, c := range s.d.Customers {
			if c.ID == r.PathValue("id") {
				mock.WriteJSON(w, http.StatusOK, c)
				return
			}
		}
		mock.Fail(w, http.StatusNotFound, "not found")
	})
	mux.HandleFunc("POST /customers/{id}/notes", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Text string `json:"text"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Text == "" {
			mock.Fail(w, http.StatusBadRequest, "body must be {\"text\": \"...\"}")
			return
		}
		s.mu.Lock()
		n := Note{ID: fmt.Sprint("n", len(s.notes)+1), CustomerID: r.PathValue("id"), Text: in.Text,
			CreatedAt: fmt.Sprintf("2026-11-23T10:%02d:00Z", len(s.notes)%60)}
		s.notes = append(s.notes, n)
		s.mu.Unlock()
		mock.WriteJSON(w, http.StatusCreated, n)
	})
	return mux
}

func (s *store) orders() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
		ids := mock.Values(r, "customerId")
		if len(ids) == 0 {
			mock.Fail(w, http.StatusBadRequest, "customerId is required")
			return
		}
		want := set(ids)
		out := []Order{}
		for _, o := range s.d.Orders {
			if want[o.CustomerID] {
				out = append(out, o)
			}
		}
		mock.WriteJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		for _, o := range s.d.Orders {
			if o.ID == r.PathValue("id") {
				mock.WriteJSON(w, http.StatusOK, o)
				return
			}
		}
		mock.Fail(w, http.StatusNotFound, "not found")
	})
	return mux
}

func (s *store) product(id string) *Product {
	for i := range s.d.Products {
		if s.d.Products[i].ID == id {
			return &s.d.Products[i]
		}
	}
	return nil
}

func (s *store) catalog() http.Handler {
	mux := http.NewServeMux()
	// /products/p1,p5,p2 answers in the requested order, null for unknown ids (positional matching).
	mux.HandleFunc("GET /products/{ids}", func(w http.ResponseWriter, r *http.Request) {
		ids := strings.Split(r.PathValue("ids"), ",")
		if len(ids) == 1 {
			if p := s.product(ids[0]); p != nil {
				mock.WriteJSON(w, http.StatusOK, p)
				return
			}
			mock.Fail(w, http.StatusNotFound, "not found")
			return
		}
		out := make([]*Product, len(ids))
		for i, id := range ids {
			out[i] = s.product(id)
		}
		mock.WriteJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /products", func(w http.ResponseWriter, r *http.Request) {
		want := set(mock.Values(r, "id"))
		out := []Product{}
		for _, p := range s.d.Products {
			if len(want) == 0 || want[p.ID] {
				out = append(out, p)
			}
		}
		mock.WriteJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /categories", func(w http.ResponseWriter, r *http.Request) {
		want := set(mock.Values(r, "id"))
		out := []Category{}
		for _, c := range s.d.Categories {
			if len(want) == 0 || want[c.ID] {
				out = append(out, c)
			}
		}
		mock.WriteJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /categories/{id}", func(w http.ResponseWriter, r *http.Request) {
		for _, c := range s.d.Categories {
			if c.ID == r.PathValue("id") {
				mock.WriteJSON(w, http.StatusOK, c)
				return
			}
		}
		mock.Fail(w, http.StatusNotFound, "not found")
	})
	mux.HandleFunc("GET /search", func(w http.ResponseWriter, r *http.Request) {
		q := strings.ToLower(r.URL.Query().Get("q"))
		if q == "" {
			mock.Fail(w, http.StatusBadRequest, "q is required")
			return
		}
		out := []any{}
		for _, c := range s.d.Categories {
			if strings.Contains(strings.ToLower(c.Name), q) {
				c.Typename = "Category"
				out = append(out, c)
			}
		}
		for _, p := range s.d.Products {
			if strings.Contains(strings.ToLower(p.Name), q) {
				p.Typename = "Product"
				out = append(out, p)
			}
		}
		mock.WriteJSON(w, http.StatusOK, out)
	})
	return mux
}

func (s *store) billing() http.Handler {
	mux := http.NewServeMux()
	invoices := func(ids []string) []Invoice {
		want := set(ids)
		out := []Invoice{}
		for _, i := range s.d.Invoices {
			if want[i.CustomerID] {
				out = append(out, i)
			}
		}
		return out
	}
	mux.HandleFunc("POST /invoices/batch", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			CustomerIDs []string `json:"customerIds"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.CustomerIDs) == 0 {
			mock.Fail(w, http.StatusBadRequest, "body must be {\"customerIds\": [\"1\", ...]}")
			return
		}
		mock.WriteJSON(w, http.StatusOK, invoices(in.CustomerIDs))
	})
	mux.HandleFunc("GET /invoices", func(w http.ResponseWriter, r *http.Request) {
		ids := mock.Values(r, "customerId")
		if len(ids) == 0 {
			mock.Fail(w, http.StatusBadRequest, "customerId is required")
			return
		}
		mock.WriteJSON(w, http.StatusOK, invoices(ids))
	})
	return mux
}

func (s *store) support() http.Handler {
	mux := http.NewServeMux()
	// The support service speaks GraphQL (POST /graphql, a gqlgen server; its ticketUpdates subscription over a
	// WebSocket upgrade, GET /graphql, or SSE); the REST routes below stay for configurations written against them.
	tickets := make([]support.Ticket, len(s.d.Tickets))
	for i, t := range s.d.Tickets {
		tickets[i] = support.Ticket{ID: t.ID, CustomerID: t.CustomerID, Subject: t.Subject, Status: t.Status,
			Channel: t.Channel, FromAddress: t.FromAddress, TranscriptURL: t.TranscriptURL}
	}
	mux.Handle("/graphql", support.NewHandler(tickets))
	mux.HandleFunc("GET /tickets", func(w http.ResponseWriter, r *http.Request) {
		ids := mock.Values(r, "customerId")
		if len(ids) == 0 {
			mock.Fail(w, http.StatusBadRequest, "customerId is required")
			return
		}
		want := set(ids)
		out := []Ticket{}
		s.mu.Lock()
		all := append(append([]Ticket(nil), s.d.Tickets...), s.tickets...)
		s.mu.Unlock()
		for _, t := range all {
			if want[t.CustomerID] {
				out = append(out, t)
			}
		}
		mock.WriteJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /tickets", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			CustomerID string `json:"customerId"`
			Subject    string `json:"subject"`
			Channel    string `json:"channel"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.CustomerID == "" || in.Subject == "" {
			mock.Fail(w, http.StatusBadRequest, "body must be {\"customerId\", \"subject\", \"channel\"}")
			return
		}
		channel := strings.ToLower(in.Channel)
		if channel != "chat" && channel != "email" && channel != "" {
			mock.Fail(w, http.StatusBadRequest, "channel must be email or chat")
			return
		}
		s.mu.Lock()
		t := newTicket(len(s.d.Tickets)+len(s.tickets)+1, in.CustomerID, in.Subject, channel != "chat", false)
		s.tickets = append(s.tickets, t)
		s.mu.Unlock()
		mock.WriteJSON(w, http.StatusCreated, t)
	})
	return mux
}

func (s *store) recommendations() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /recommendations", func(w http.ResponseWriter, r *http.Request) {
		ids := mock.Values(r, "productId")
		if len(ids) == 0 {
			mock.Fail(w, http.StatusBadRequest, "productId is required")
			return
		}
		out := []Recommendation{}
		for _, id := range ids {
			out = append(out, Recommendations(id)...)
		}
		mock.WriteJSON(w, http.StatusOK, out)
	})
	return mux
}
