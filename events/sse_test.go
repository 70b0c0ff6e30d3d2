package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"go.uber.org/goleak"
)

// readAll parses input with a reader of max bytes per event and returns the events, the last event ID, the last
// retry and the error that ended the stream. oneByte reads the input a byte at a time.
func readAll(input string, max int64, oneByte bool) (events []string, lastID string, retry time.Duration, err error) {
	var r io.Reader = strings.NewReader(input)
	if oneByte {
		r = iotest.OneByteReader(r)
	}
	p := newSSEReader(r, max)
	for {
		ev, err := p.next()
		if err != nil {
			return events, p.lastID, p.retry, err
		}
		events = append(events, ev.String())
	}
}

func ev(event, data string) string {
	return sseEvent{event: event, data: []byte(data), hasData: true}.String()
}

func TestSSEReader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		input  string
		max    int64 // 0: 1 MiB
		events []string
		lastID string
		retry  time.Duration
		tooBig bool
	}{
		{name: "data", input: "data: a\n\n", events: []string{ev("", "a")}},
		{name: "data lines join with LF", input: "data:a\ndata: b\n\n", events: []string{ev("", "a\nb")}},
		{name: "one space dropped", input: "data:  two\n\n", events: []string{ev("", " two")}},
		{name: "CRLF", input: "data: a\r\n\r\n", events: []string{ev("", "a")}},
		{name: "CR", input: "data: a\r\rdata: b\r\r", events: []string{ev("", "a"), ev("", "b")}},
		{name: "mixed line ends", input: "data: a\r\ndata: b\rdata: c\n\n", events: []string{ev("", "a\nb\nc")}},
		{name: "CR then LF is one line end", input: "data: a\r\n\r\ndata: b\n\r\n", events: []string{ev("", "a"), ev("", "b")}},
		{name: "comments", input: ": hi\ndata: x\n:\n\n", events: []string{ev("", "x")}},
		{name: "event type", input: "event: order\ndata: {}\n\n", events: []string{ev("order", "{}")}},
		{name: "last event type wins", input: "event: a\nevent: b\ndata: x\n\n", events: []string{ev("b", "x")}},
		{name: "type resets after dispatch", input: "event: a\ndata: 1\n\ndata: 2\n\n", events: []string{ev("a", "1"), ev("", "2")}},
		{name: "event without data", input: "event: complete\n\n", events: []string{sseEvent{event: "complete"}.String()}},
		{name: "empty lines only", input: "\n\n\r\n\r"},
		{name: "unfinished event dropped", input: "data: a\n\ndata: b\n", events: []string{ev("", "a")}},
		{name: "unterminated line dropped", input: "data: a"},
		{name: "field without colon", input: "data\n\n", events: []string{ev("", "")}},
		{name: "empty data lines", input: "data:\ndata:\n\n", events: []string{ev("", "\n")}},
		{name: "unknown field ignored", input: "foo: bar\ndata: a\n\n", events: []string{ev("", "a")}},
		{name: "colon in value", input: "data: a: b\n\n", events: []string{ev("", "a: b")}},
		{name: "id", input: "id: 7\ndata: a\n\n", events: []string{ev("", "a")}, lastID: "7"},
		{name: "id kept across events", input: "id: 7\ndata: a\n\ndata: b\n\n", events: []string{ev("", "a"), ev("", "b")}, lastID: "7"},
		{name: "id set without data", input: "id: 7\n\n", lastID: "7"},
		{name: "id not set before dispatch", input: "id: 7\ndata: a\n"},
		{name: "empty id resets", input: "id: 7\n\nid\n\n"},
		{name: "id with NUL ignored", input: "id: 7\n\nid: 8\x009\n\n", lastID: "7"},
		{name: "retry", input: "retry: 1500\n\n", retry: 1500 * time.Millisecond},
		{name: "retry not digits ignored", input: "retry: 1500\nretry: 15x\nretry:\nretry: -1\n", retry: 1500 * time.Millisecond},
		{name: "retry too large ignored", input: "retry: 99999999999999999999\n"},
		{name: "BOM skipped", input: "\xEF\xBB\xBFdata: a\n\n", events: []string{ev("", "a")}},
		{name: "second BOM is part of a field name", input: "\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n"},
		{name: "event at the limit", input: "data: 0123456789\n\n", max: 18, events: []string{ev("", "0123456789")}},
		{name: "event over the limit", input: "data: 0123456789\ndata: x\n\n", max: 18, tooBig: true},
		{name: "line over the limit", input: "data: 0123456789abcdefghij", max: 18, tooBig: true},
		{name: "comment lines count", input: ": 0123456789abcdef\n: x\n\n", max: 18, tooBig: true},
		{name: "the count restarts at each event", input: strings.Repeat("data: 0123456789\n\n", 5), max: 18, events: []string{
			ev("", "0123456789"), ev("", "0123456789"), ev("", "0123456789"), ev("", "0123456789"), ev("", "0123456789")}},
	} {
		for _, oneByte := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/oneByte=%v", tc.name, oneByte), func(t *testing.T) {
				max := tc.max
				if max == 0 {
					max = 1 << 20
				}
				events, lastID, retry, err := readAll(tc.input, max, oneByte)
				if tc.tooBig {
					wantError(t, err, CodeBadResponse, 0)
				} else if err != io.EOF {
					t.Fatalf("error %v, want io.EOF", err)
				}
				if fmt.Sprint(events) != fmt.Sprint(tc.events) {
					t.Fatalf("events %v, want %v", events, tc.events)
				}
				if lastID != tc.lastID || retry != tc.retry {
					t.Fatalf("last event ID %q, retry %s; want %q, %s", lastID, retry, tc.lastID, tc.retry)
				}
			})
		}
	}
}

// sseEndpoint serves an event stream for SubscribeSSE through Open, as the caller's HTTP source would.
type sseEndpoint struct {
	*sseUpstream
	mu           sync.Mutex
	lastEventIDs []string // the Last-Event-ID of each request
}

func newSSEEndpoint(t *testing.T, serve func(n int, w http.ResponseWriter, r *http.Request)) *sseEndpoint {
	e := &sseEndpoint{}
	e.sseUpstream = newSSEUpstream(t, func(n int, w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.lastEventIDs = append(e.lastEventIDs, r.Header.Get("Last-Event-ID"))
		e.mu.Unlock()
		serve(n, w, r)
	})
	return e
}

// open is an SSEConfig.Open over a GET of the endpoint.
func (e *sseEndpoint) open(t *testing.T) func(ctx context.Context, lastEventID string) (io.ReadCloser, error) {
	c := client(t)
	return func(ctx context.Context, lastEventID string) (io.ReadCloser, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL, nil)
		if err != nil {
			return nil, err
		}
		if lastEventID != "" {
			req.Header.Set("Last-Event-ID", lastEventID)
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode == http.StatusNoContent:
			_ = resp.Body.Close()
			return nil, io.EOF
		case resp.StatusCode > 299:
			_ = resp.Body.Close()
			return nil, &Error{Code: CodeHTTPError, Status: resp.StatusCode, Err: errors.New(resp.Status)}
		}
		return resp.Body, nil
	}
}

// TestSubscribeSSE: events of the chosen type in order across reconnections, Last-Event-ID sent back, and the end
// when the server answers 204.
func TestSubscribeSSE(t *testing.T) {
	e := newSSEEndpoint(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			stream(w, ": hi\n\n", "id: 1\nevent: order\ndata: {\"n\":1}\n\n", "event: ping\ndata: x\n\n",
				"id: 2\nevent: order\ndata: {\"n\":2}\n\n", "retry: 1\n\n")
		case 2:
			stream(w, "id: 3\r\nevent: order\r\ndata: {\"n\":\r\ndata: 3}\r\n\r\n", "data: untyped\n\n")
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	var reconnects atomic.Int32
	s, err := SubscribeSSE(context.Background(), SSEConfig{Open: e.open(t), Event: "order", Reconnect: fast(1),
		OnReconnect: func() { reconnects.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, want := range []string{`{"n":1}`, `{"n":2}`, "{\"n\":\n3}"} {
		if got := next(t, s); got != want {
			t.Fatalf("event %d: %q, want %q", i+1, got, want)
		}
	}
	wantEOF(t, s)
	if fmt.Sprint(e.lastEventIDs) != "[ 2 3]" || reconnects.Load() != 2 {
		t.Fatalf("Last-Event-IDs %q, %d reconnects; want [ 2 3], 2", e.lastEventIDs, reconnects.Load())
	}
}

func TestSubscribeSSE_allEvents(t *testing.T) {
	e := newSSEEndpoint(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n > 1 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		stream(w, "event: a\ndata: 1\n\n", "data: 2\n\n", "event: only a type\n\n", "event: message\ndata: 3\n\n")
	})
	for _, tc := range []struct{ event, want string }{{"", "[1 2 3]"}, {"message", "[2 3]"}, {"a", "[1]"}} {
		t.Run(tc.event, func(t *testing.T) {
			e.conns.Store(0)
			s, err := SubscribeSSE(context.Background(), SSEConfig{Open: e.open(t), Event: tc.event, Reconnect: fast(1)})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var got []string
			for {
				ev, err := s.Next(context.Background())
				if err != nil {
					if err != io.EOF {
						t.Fatal(err)
					}
					break
				}
				got = append(got, string(ev))
			}
			if fmt.Sprint(got) != tc.want {
				t.Fatalf("events %v, want %s", got, tc.want)
			}
		})
	}
}

func TestSubscribeSSE_fails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		serve  func(w http.ResponseWriter, r *http.Request) // for requests after the first
		code   string
		status int
		conns  int32
	}{
		{"HTTP 502", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }, CodeHTTPError, 502, 4},
		{"HTTP 404 is not retried", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) }, CodeHTTPError, 404, 2},
		{"ends before an event", func(w http.ResponseWriter, r *http.Request) { stream(w, "id: 9\n\n", "event: x\n\n") }, CodeUnavailable, 0, 4},
		{"event larger than MaxEventBytes", func(w http.ResponseWriter, r *http.Request) {
			stream(w, "data: "+strings.Repeat("x", 300)+"\n\n")
		}, CodeBadResponse, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSSEEndpoint(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n > 1 {
					tc.serve(w, r)
					return
				}
				stream(w, "data: 1\n\n")
			})
			s, err := SubscribeSSE(context.Background(), SSEConfig{Open: e.open(t), Reconnect: fast(3), MaxEventBytes: 256})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			next(t, s)
			wantError(t, end(t, s), tc.code, tc.status)
			if n := e.conns.Load(); n != tc.conns {
				t.Fatalf("%d requests, want %d", n, tc.conns)
			}
		})
	}
}

func TestSubscribeSSE_refused(t *testing.T) {
	_, err := SubscribeSSE(context.Background(), SSEConfig{Open: func(context.Context, string) (io.ReadCloser, error) {
		return nil, &Error{Code: CodeHTTPError, Status: 401, Err: errors.New("401 Unauthorized")}
	}})
	wantError(t, err, CodeHTTPError, 401)
	_, err = SubscribeSSE(context.Background(), SSEConfig{Open: func(context.Context, string) (io.ReadCloser, error) {
		return nil, errors.New("connection refused")
	}})
	wantError(t, err, CodeUnavailable, 0)

	// The caller's ctx ending while it connects is ctx.Err(), not an upstream failure.
	ctx, cancel := context.WithCancel(context.Background())
	_, err = SubscribeSSE(ctx, SSEConfig{Open: func(ctx context.Context, _ string) (io.ReadCloser, error) {
		cancel()
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	if err != context.Canceled {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

// TestSubscribeSSE_retry: the server's retry: is the backoff's base, within Reconnect's bounds.
func TestSubscribeSSE_retry(t *testing.T) {
	for _, tc := range []struct {
		input string
		want  time.Duration // the first reconnection's backoff, before jitter
	}{
		{"data: x\n\n", 250 * time.Millisecond},
		{"retry: 3000\n\n", 3 * time.Second},
		{"retry: 30000\n\n", 5 * time.Second},
		{"retry: 10\n\n", 250 * time.Millisecond},
	} {
		t.Run(tc.input, func(t *testing.T) {
			s := &sseStream{reconnect: DefaultReconnect(), max: 1 << 10}
			session := s.session(io.NopCloser(strings.NewReader(tc.input)))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p := &pipe{events: make(chan []byte, 1), stop: ctx.Done()}
			if _, err := session(ctx, p); err == nil {
				t.Fatal("the session did not end with its body")
			}
			if got := s.reconnect.ceiling(1, s.base()); got != tc.want {
				t.Fatalf("backoff %s, want %s", got, tc.want)
			}
		})
	}
}

func TestReconnect_delay(t *testing.T) {
	r := Reconnect{Attempts: 5, Backoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 60: time.Second} {
		if got := r.ceiling(n, r.Backoff); got != want {
			t.Errorf("ceiling(%d) = %s, want %s", n, got, want)
		}
		for range 100 {
			if d := r.delay(n, r.Backoff); d < want/2 || d > want {
				t.Fatalf("delay(%d) = %s, want within [%s, %s]", n, d, want/2, want)
			}
		}
	}
	if got := (Reconnect{}).normalized(); got != (Reconnect{Backoff: 250 * time.Millisecond, MaxBackoff: 5 * time.Second}) {
		t.Errorf("zero Reconnect normalized to %+v", got)
	}
	if got := (Reconnect{Backoff: 10 * time.Second}).normalized(); got.MaxBackoff != 10*time.Second {
		t.Errorf("MaxBackoff %s below Backoff", got.MaxBackoff)
	}
}

// TestSleep: a backoff ends when ctx does.
func TestSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if sleep(ctx, time.Hour) {
		t.Fatal("slept an hour with a cancelled ctx")
	}
	if !sleep(context.Background(), time.Microsecond) {
		t.Fatal("no sleep")
	}
}

// TestSubscribeSSE_close: Close and cancelling the ctx end the request and leave no goroutine behind.
func TestSubscribeSSE_close(t *testing.T) {
	for _, how := range []string{"Close", "cancel"} {
		t.Run(how, func(t *testing.T) {
			gone := make(chan struct{})
			e := newSSEEndpoint(t, func(n int, w http.ResponseWriter, r *http.Request) {
				stream(w, "data: 1\n\n", "data: 2\n\n")
				<-r.Context().Done()
				close(gone)
			})
			open := e.open(t)
			leaks := goleak.IgnoreCurrent()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s, err := SubscribeSSE(ctx, SSEConfig{Open: open})
			if err != nil {
				t.Fatal(err)
			}
			next(t, s)
			endBy(t, how, s, cancel)
			<-gone
			s.Close()
			goleak.VerifyNone(t, leaks)
		})
	}
}

// BenchmarkSSEReader reads 1,000 events of about 200 bytes each (the shape of a graphql-sse next event).
func BenchmarkSSEReader(b *testing.B) {
	input := strings.Repeat("id: 12345\nevent: next\ndata: {\"data\":{\"orderStatus\":{\"id\":\"o-1\",\"status\":\"SHIPPED\",\"items\":[1,2,3],\"note\":\""+
		strings.Repeat("x", 80)+"\"}}}\n\n", 1000)
	b.ReportAllocs()
	b.SetBytes(int64(len(input)))
	for b.Loop() {
		p := newSSEReader(strings.NewReader(input), 1<<20)
		n := 0
		for {
			if _, err := p.next(); err != nil {
				break
			}
			n++
		}
		if n != 1000 {
			b.Fatalf("%d events", n)
		}
	}
}
