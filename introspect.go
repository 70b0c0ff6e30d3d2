package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
)

// maxIntrospectionWait bounds how long loading a configuration waits for one upstream's introspection answer.
const maxIntrospectionWait = 5 * time.Second

var introspectionBody, _ = json.Marshal(map[string]string{"query": introspection.Query})

// loadOptions are the options every configuration load uses (start-up, reloads, the admin API, the CLI):
// graphql sources without an sdl file are introspected.
func loadOptions(opts ...schema.Option) []schema.Option {
	return append(opts, schema.WithIntrospection(introspectUpstream))
}

// introspectUpstream asks a graphql source's endpoints, in order until one answers, for the full introspection
// query, with the source's headers, within its timeout (at most maxIntrospectionWait).
func introspectUpstream(src *schema.Source) ([]byte, error) {
	h := src.HTTP
	wait := maxIntrospectionWait
	if h.Timeout > 0 && h.Timeout < wait {
		wait = h.Timeout
	}
	// The source's headers go with the request: redirects follow the source's own policy, so they never reach
	// another host (issue 13).
	client := &http.Client{CheckRedirect: sources.RedirectPolicy(h.Redirects, h.RedirectHosts)}
	var errs []error
	for _, endpoint := range h.Endpoints {
		answer, err := introspectEndpoint(client, endpoint, h.Headers, wait, h.MaxResponseBytes)
		if err == nil {
			return answer, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", endpoint, err))
	}
	return nil, errors.Join(errs...)
}

func introspectEndpoint(client *http.Client, endpoint string, headers http.Header, wait time.Duration, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(introspectionBody))
	if err != nil {
		return nil, err
	}
	for name, vals := range headers {
		req.Header[name] = vals
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	if limit <= 0 {
		limit = 16 << 20
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if int64(len(answer)) > limit {
		return nil, fmt.Errorf("introspection answer larger than %d bytes", limit)
	}
	return answer, err
}
