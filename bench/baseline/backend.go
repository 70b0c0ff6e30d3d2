package main

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/conflux-gql/conflux/bench/internal/gqlserver"
)

// backend calls the posts REST service. One is shared by every request.
type backend struct {
	base   string
	client *http.Client
}

// get decodes GET base+path?query into out; found is false on 404.
func (b *backend) get(ctx context.Context, path string, query url.Values, out any) (found bool, err error) {
	u := b.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	return gqlserver.Do(b.client, req, out)
}

// ids is the query parameter name repeated once per id: ?id=1&id=2.
func ids(name string, keys []int) url.Values {
	v := make([]string, len(keys))
	for i, k := range keys {
		v[i] = strconv.Itoa(k)
	}
	return url.Values{name: v}
}
