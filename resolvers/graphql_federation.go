package resolvers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/conflux-gql/conflux/sources"
)

// GraphQLAnswer is a subgraph's answer to a federated fetch: its data by response key, and its errors as sent
// (paths from the document's root).
type GraphQLAnswer struct {
	Data   map[string]any
	Errors []UpstreamError
}

// PostGraphQL sends a federated fetch's document to the graphql source named source (issue 14): the query, its
// variables, and the incoming headers the source forwards. retrySafe allows retries (queries; not mutations).
func (s *Set) PostGraphQL(ctx context.Context, source, query string, vars map[string]any, incoming http.Header, retrySafe bool) (*GraphQLAnswer, error) {
	src := s.sources[source]
	if src == nil {
		return nil, &sources.Error{Source: source, Code: sources.CodeUnavailable, Err: fmt.Errorf("source %q was not built", source)}
	}
	var header http.Header
	for _, name := range s.forward[source] {
		if vals := incoming.Values(name); len(vals) > 0 {
			if header == nil {
				header = http.Header{}
			}
			header[name] = vals
		}
	}
	resp, err := postGraphQL(ctx, src, source, &sources.Request{RetrySafe: retrySafe}, upstreamCall{query: query, vars: vars}, header)
	if err != nil {
		return nil, err
	}
	out := &GraphQLAnswer{Data: make(map[string]any, len(resp.Data))}
	for k, raw := range resp.Data {
		v, err := decodeJSON(raw)
		if err != nil {
			return nil, &sources.Error{Source: source, Code: sources.CodeBadResponse, Method: http.MethodPost, Err: err}
		}
		out.Data[k] = v
	}
	for _, e := range resp.Errors {
		out.Errors = append(out.Errors, UpstreamError{Message: e.Message, Path: e.Path, Extensions: e.Extensions})
	}
	return out, nil
}
