package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/conflux-gql/conflux/examples/posts"
)

// TestPostTransport holds postTransport to gqlgen's transport.POST: over the same engine, every request gets the
// same status, Content-Type and body from both, on success, with errors, with response extensions (every
// response here has one) and on each error path.
func TestPostTransport(t *testing.T) {
	env := newPosts(t, posts.Options{})
	serve := func(tr graphql.Transport) *handler.Server {
		h := handler.New(env.rt.engine)
		h.AddTransport(tr)
		h.Use(extension.Introspection{})
		h.Use(extension.FixedComplexityLimit(10000))
		h.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
			graphql.RegisterExtension(ctx, "trace", map[string]any{"spans": []int{1, 2}})
			return next(ctx)
		})
		return h
	}
	ours, theirs := serve(postTransport{}), serve(transport.POST{})
	cases := []struct{ name, accept, body string }{
		{"data", "", `{"query":"{ posts { id title user { id name email } } }"}`},
		{"data and field errors", "", `{"query":"{ post(id: 1) { id } user(id: \"x\") { id } }"}`},
		{"variables", "application/json", `{"query":"query($id: ID!) { post(id: $id) { title } }","variables":{"id":"2"}}`},
		{"graphql-response accepted", "application/graphql-response+json", `{"query":"{ users { id } }"}`},
		{"accept list", "text/html, application/graphql-response+json;q=0.9", `{"query":"{ users { id } }"}`},
		{"accept wildcard", "*/*", `{"query":"{ users { id } }"}`},
		{"typename only", "", `{"query":"{ __typename }"}`},
		{"introspection", "", `{"query":"{ __type(name: \"Post\") { name fields { name } } }"}`},
		{"parse error", "", `{"query":"{ posts { id "}`},
		{"parse error, graphql-response", "application/graphql-response+json", `{"query":"{ posts { id "}`},
		{"validation error", "", `{"query":"{ posts { nope } }"}`},
		{"unknown operation", "", `{"query":"query A { users { id } }","operationName":"B"}`},
		{"body not JSON", "", `{"query":`},
		{"body wrong shape", "", `{"query":1}`},
		{"no query", "", `{}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			do := func(h http.Handler) *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(c.body))
				r.Header.Set("Content-Type", "application/json")
				if c.accept != "" {
					r.Header.Set("Accept", c.accept)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			got, want := do(ours), do(theirs)
			if got.Code != want.Code || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") || got.Body.String() != want.Body.String() {
				t.Errorf("postTransport: %d %s %s\ntransport.POST: %d %s %s", got.Code, got.Header().Get("Content-Type"), got.Body,
					want.Code, want.Header().Get("Content-Type"), want.Body)
			}
		})
	}
}
