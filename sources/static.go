package sources

import (
	"context"
	"encoding/json"
	"fmt"
)

// Static answers every request with one constant JSON value. It is immutable and safe for concurrent use.
type Static struct {
	name string
	body []byte
}

var _ Source = (*Static)(nil)

// NewStatic returns a source that answers with the JSON encoding of value.
func NewStatic(name string, value any) (*Static, error) {
	b, err := json.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("static source %s: %w", name, err)
	}
	return &Static{name: name, body: b}, nil
}

// Name implements Source.
func (s *Static) Name() string { return s.name }

// Do implements Source; the request is ignored.
func (s *Static) Do(ctx context.Context, _ *Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, &Error{Source: s.name, Code: CodeTimeout, Err: err}
	}
	return &Response{Status: 200, Body: s.body}, nil
}
