package main

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/conflux-gql/conflux/bench/baseline360/generated"
	"github.com/conflux-gql/conflux/bench/baseline360/model"
	"github.com/conflux-gql/conflux/bench/internal/gqlserver"
	"github.com/graph-gophers/dataloader/v7"
)

// loaders are one request's dataloaders, as the gqlgen dataloader guide sets them up: created per request by
// middleware, each batching the keys asked for within a 1 ms window.
type loaders struct {
	orders          *dataloader.Loader[string, []*model.Order]
	invoices        *dataloader.Loader[string, []*model.Invoice]
	tickets         *dataloader.Loader[string, []generated.Ticket]
	loyalty         *dataloader.Loader[string, *model.Loyalty]
	product         *dataloader.Loader[string, *model.Product]
	category        *dataloader.Loader[string, *model.Category]
	recommendations *dataloader.Loader[string, []*model.Recommendation]
}

type loadersKey struct{}

const ticketsQuery = `query($ids: [ID!]!) { ticketsByCustomers(customerIds: $ids) {
  __typename id customerId subject status ... on EmailTicket { fromAddress } ... on ChatTicket { transcriptUrl } } }`

const loyaltyQuery = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id loyalty { points tier } } } }`

func newLoaders(b *backends) *loaders {
	return &loaders{
		orders: loader(func(ctx context.Context, keys []string) (func(string) []*model.Order, error) {
			var orders []*model.Order
			_, err := b.get(ctx, b.orders, "/orders", values("customerId", keys), &orders)
			return groupBy(orders, func(o *model.Order) string { return o.CustomerID }), err
		}),
		invoices: loader(func(ctx context.Context, keys []string) (func(string) []*model.Invoice, error) {
			var invoices []*model.Invoice
			err := b.post(ctx, b.billing+"/invoices/batch", map[string]any{"customerIds": keys}, &invoices)
			return groupBy(invoices, func(i *model.Invoice) string { return i.CustomerID }), err
		}),
		tickets: loader(func(ctx context.Context, keys []string) (func(string) []generated.Ticket, error) {
			var data struct {
				Tickets []struct {
					Typename      string `json:"__typename"`
					ID            string `json:"id"`
					CustomerID    string `json:"customerId"`
					Subject       string `json:"subject"`
					Status        string `json:"status"`
					FromAddress   string `json:"fromAddress"`
					TranscriptURL string `json:"transcriptUrl"`
				} `json:"ticketsByCustomers"`
			}
			err := b.graphql(ctx, b.support, ticketsQuery, map[string]any{"ids": keys}, &data)
			byCustomer := map[string][]generated.Ticket{}
			for _, t := range data.Tickets {
				var ticket generated.Ticket = &generated.EmailTicket{ID: t.ID, Subject: t.Subject, Status: t.Status, FromAddress: t.FromAddress}
				if t.Typename == "ChatTicket" {
					ticket = &generated.ChatTicket{ID: t.ID, Subject: t.Subject, Status: t.Status, TranscriptURL: t.TranscriptURL}
				}
				byCustomer[t.CustomerID] = append(byCustomer[t.CustomerID], ticket)
			}
			return func(k string) []generated.Ticket { return gqlserver.NonNil(byCustomer[k]) }, err
		}),
		loyalty: loader(func(ctx context.Context, keys []string) (func(string) *model.Loyalty, error) {
			reps := make([]map[string]any, len(keys))
			for i, k := range keys {
				reps[i] = map[string]any{"__typename": "Customer", "id": k}
			}
			var data struct {
				Entities []*struct {
					ID      string         `json:"id"`
					Loyalty *model.Loyalty `json:"loyalty"`
				} `json:"_entities"`
			}
			err := b.graphql(ctx, b.loyalty, loyaltyQuery, map[string]any{"r": reps}, &data)
			byID := map[string]*model.Loyalty{}
			for _, e := range data.Entities {
				if e != nil {
					byID[e.ID] = e.Loyalty
				}
			}
			return func(k string) *model.Loyalty { return byID[k] }, err
		}),
		product: loader(func(ctx context.Context, keys []string) (func(string) *model.Product, error) {
			// /products/p1,p2 answers a list in key order; /products/p1 a single product.
			byID := map[string]*model.Product{}
			path := "/products/" + strings.Join(keys, ",")
			var err error
			if len(keys) == 1 {
				var p model.Product
				var found bool
				if found, err = b.get(ctx, b.catalog, path, nil, &p); found {
					byID[p.ID] = &p
				}
			} else {
				var ps []*model.Product
				_, err = b.get(ctx, b.catalog, path, nil, &ps)
				for _, p := range ps {
					if p != nil {
						byID[p.ID] = p
					}
				}
			}
			return func(k string) *model.Product { return byID[k] }, err
		}),
		category: loader(func(ctx context.Context, keys []string) (func(string) *model.Category, error) {
			var cs []*model.Category
			_, err := b.get(ctx, b.catalog, "/categories", values("id", keys), &cs)
			byID := map[string]*model.Category{}
			for _, c := range cs {
				byID[c.ID] = c
			}
			return func(k string) *model.Category { return byID[k] }, err
		}),
		recommendations: loader(func(ctx context.Context, keys []string) (func(string) []*model.Recommendation, error) {
			var rs []*model.Recommendation
			_, err := b.get(ctx, b.recommendations, "/recommendations", values("productId", keys), &rs)
			return groupBy(rs, func(r *model.Recommendation) string { return r.ForProductID }), err
		}),
	}
}

// loader is a per-request dataloader with a 1 ms window over fetch, which answers a batch with a lookup by key.
func loader[V any](fetch func(context.Context, []string) (func(string) V, error)) *dataloader.Loader[string, V] {
	return dataloader.NewBatchedLoader(func(ctx context.Context, keys []string) []*dataloader.Result[V] {
		pick, err := fetch(ctx, keys)
		return gqlserver.Results(keys, err, pick)
	}, dataloader.WithWait[string, V](time.Millisecond))
}

// groupBy indexes items by key; a key without items gets an empty list.
func groupBy[T any](items []T, key func(T) string) func(string) []T {
	m := map[string][]T{}
	for _, it := range items {
		m[key(it)] = append(m[key(it)], it)
	}
	return func(k string) []T { return gqlserver.NonNil(m[k]) }
}

func values(name string, keys []string) map[string][]string { return map[string][]string{name: keys} }

// withLoaders gives each request its own loaders.
func withLoaders(b *backends, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), loadersKey{}, newLoaders(b))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func loadersFor(ctx context.Context) *loaders { return ctx.Value(loadersKey{}).(*loaders) }
