package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// backend calls the posts REST service. One is shared by every request.
type backend struct {
	base   string
	client *http.Client
}

func newBackend(base string) *backend {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
	return &backend{base: base, client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
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
	resp, err := b.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return false, nil
	case resp.StatusCode != http.StatusOK:
		return false, fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
	}
	return true, json.NewDecoder(resp.Body).Decode(out)
}

// ids is the query parameter name repeated once per id: ?id=1&id=2.
func ids(name string, keys []int) url.Values {
	v := make([]string, len(keys))
	for i, k := range keys {
		v[i] = strconv.Itoa(k)
	}
	return url.Values{name: v}
}
