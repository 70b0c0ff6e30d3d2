package sources

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestHTTP_OpenTimeout: the source's timeout bounds the wait for a stream's answer (an upstream that accepts the
// request and never answers fails with UPSTREAM_TIMEOUT), never the stream once it answered.
func TestHTTP_OpenTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/silent" {
			select { // never answers
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-time.After(3 * timeout) // an event well after the timeout
		_, _ = io.WriteString(w, "data: late\n\n")
	}))
	defer srv.Close()
	defer close(release)
	h := newHTTP(t, HTTPConfig{Endpoints: []string{srv.URL}, Timeout: timeout})

	ctx, cancel := context.WithTimeout(context.Background(), 20*timeout)
	defer cancel()
	_, err := h.Open(ctx, &Request{Path: "/silent"})
	var se *Error
	if !errors.As(err, &se) || se.Code != CodeTimeout {
		t.Fatalf("Open of a silent upstream: %v, want %s", err, CodeTimeout)
	}

	body, err := h.Open(context.Background(), &Request{Path: "/events"})
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil || string(b) != "data: late\n\n" {
		t.Errorf("the stream read %q, %v; want its late event", b, err)
	}
}
