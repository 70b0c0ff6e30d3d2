package sources

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Static answers every request with one constant JSON value, encoded once by NewStatic. It is immutable and safe
// for concurrent use; it holds no resources, so it has no Close.
type Static struct {
	name string
	body []byte
}

var _ Source = (*Static)(nil)

// NewStatic returns a source that answers with the JSON encoding of value, or an error when value does not
// encode.
func NewStatic(name string, value any) (*Static, error) {
	b, err := json.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("static source %s: encode value: %w", name, err)
	}
	return &Static{name: name, body: b}, nil
}

// Name implements Source.
func (s *Static) Name() string { return s.name }

// Do implements Source: it ignores req and answers 200 with the encoded value, which every call shares (callers
// must not modify Body). It fails only when ctx is already done.
func (s *Static) Do(ctx context.Context, _ *Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, ctxError(s.name, "", "", err)
	}
	return &Response{Status: http.StatusOK, Body: s.body}, nil
}
