package sources

import (
	"context"
	"errors"
	"testing"
)

func TestStatic_Do(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		value    any
		ctx      context.Context
		wantBody string
		wantCode Code
	}{
		{name: "object", value: map[string]any{"a": []any{1, "x"}}, wantBody: `{"a":[1,"x"]}`},
		{name: "list of structs", value: []struct {
			ID string `json:"id"`
		}{{"1"}, {"2"}}, wantBody: `[{"id":"1"},{"id":"2"}]`},
		{name: "nil is null", value: nil, wantBody: `null`},
		{name: "done context", value: 1, ctx: cancelled, wantCode: CodeUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewStatic("fixtures", tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if s.Name() != "fixtures" {
				t.Errorf("Name() = %q", s.Name())
			}
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			// The request is ignored: a POST with a body gets the same answer.
			resp, err := s.Do(ctx, &Request{Method: "POST", Path: "/anything", Body: []byte(`{}`)})
			if tc.wantCode != "" {
				var se *Error
				if !errors.As(err, &se) || se.Code != tc.wantCode || se.Source != "fixtures" {
					t.Fatalf("err = %v, want %s", err, tc.wantCode)
				}
				return
			}
			if err != nil || resp.Status != 200 || string(resp.Body) != tc.wantBody {
				t.Errorf("got %v %s, %v; want 200 %s", resp, resp.Body, err, tc.wantBody)
			}
		})
	}
}

func TestNewStatic(t *testing.T) {
	if _, err := NewStatic("bad", make(chan int)); err == nil {
		t.Error("want an error for a value that does not encode as JSON")
	}
}
