package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/conflux-gql/conflux/bench/internal/gqlserver"
)

// backends are the base URLs of the Customer 360 services (support and loyalty: their GraphQL endpoints) and
// one HTTP client shared by every request.
type backends struct {
	crm, orders, catalog, billing, support, recommendations, loyalty string
	client                                                           *http.Client
}

// get decodes GET base+path?query into out; found is false on 404.
func (b *backends) get(ctx context.Context, base, path string, query url.Values, out any) (found bool, err error) {
	u := base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	return b.do(req, out)
}

// post sends body as JSON to u and decodes the answer into out.
func (b *backends) post(ctx context.Context, u string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	found, err := b.do(req, out)
	if err == nil && !found {
		err = fmt.Errorf("POST %s: not found", u)
	}
	return err
}

func (b *backends) do(req *http.Request, out any) (bool, error) {
	return gqlserver.Do(b.client, req, out)
}

// graphql posts a query to an upstream GraphQL endpoint and decodes its data into data.
func (b *backends) graphql(ctx context.Context, endpoint, query string, vars map[string]any, data any) error {
	var resp struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := b.post(ctx, endpoint, map[string]any{"query": query, "variables": vars}, &resp); err != nil {
		return err
	}
	if len(resp.Errors) > 0 {
		return fmt.Errorf("%s: %s", endpoint, resp.Errors[0].Message)
	}
	return json.Unmarshal(resp.Data, data)
}
