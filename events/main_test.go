package events

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// wait bounds every wait of a test on an event.
const wait = 5 * time.Second

// fast is a Reconnect for tests: attempts in a row, backoff of a millisecond or two.
func fast(attempts int) Reconnect {
	return Reconnect{Attempts: attempts, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
}

// next is the stream's next event; the test fails on an error.
func next(t *testing.T, s Stream) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ev, err := s.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return string(ev)
}

// end is the error that ends the stream; the test fails on an event.
func end(t *testing.T, s Stream) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ev, err := s.Next(ctx)
	if err == nil {
		t.Fatalf("Next: got event %s, want the end of the stream", ev)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next: no end of the stream within %s", wait)
	}
	return err
}

// wantError checks that err is an *Error with code and status.
func wantError(t *testing.T, err error, code string, status int) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want an *Error %s", err, err, code)
	}
	if e.Code != code || e.Status != status {
		t.Fatalf("error %v: code %s status %d, want %s %d", err, e.Code, e.Status, code, status)
	}
	return e
}

// endBy ends s the way how says ("Close", or else cancel of the context it was made with) and checks that it
// then ends with io.EOF.
func endBy(t *testing.T, how string, s Stream, cancel context.CancelFunc) {
	t.Helper()
	if how == "Close" {
		s.Close()
	} else {
		cancel()
	}
	wantEOF(t, s)
}

func wantEOF(t *testing.T, s Stream) {
	t.Helper()
	if err := end(t, s); err != io.EOF {
		t.Fatalf("end of stream: %v, want io.EOF", err)
	}
}

// ticks is a hand-written gqlgen executable schema: Subscription.tick(n) emits {"tick":1} … {"tick":n}, then ends.
type ticks struct{ schema *ast.Schema }

func newTicks(t *testing.T) *ticks {
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "ticks.graphqls", Input: `
		type Query { ok: Boolean }
		type Subscription { tick(n: Int!): Int! }`})
	if err != nil {
		t.Fatal(err)
	}
	return &ticks{schema: s}
}

func (s *ticks) Schema() *ast.Schema { return s.schema }

func (s *ticks) Complexity(context.Context, string, string, int, map[string]any) (int, bool) {
	return 0, false
}

func (s *ticks) Exec(ctx context.Context) graphql.ResponseHandler {
	op := graphql.GetOperationContext(ctx)
	if op.Operation.Operation != ast.Subscription {
		return graphql.OneShot(&graphql.Response{Data: []byte(`{"ok":true}`)})
	}
	field := op.Operation.SelectionSet[0].(*ast.Field)
	n, _ := field.ArgumentMap(op.Variables)["n"].(int64)
	i := int64(0)
	return func(ctx context.Context) *graphql.Response {
		if i == n || ctx.Err() != nil {
			return nil
		}
		i++
		return &graphql.Response{Data: []byte(`{"` + field.Alias + `":` + itoa(i) + `}`)}
	}
}

func itoa(i int64) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		if i /= 10; i == 0 {
			return string(b)
		}
	}
}

// gqlgenUpstream serves ticks over graphql-transport-ws and graphql-sse, as a gqlgen server would.
func gqlgenUpstream(t *testing.T) *httptest.Server {
	srv := handler.New(newTicks(t))
	srv.AddTransport(transport.Websocket{})
	srv.AddTransport(transport.SSE{})
	srv.AddTransport(transport.POST{})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs
}

// client is an HTTP client whose idle connections the test closes, so that goleak sees none.
func client(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func wsURL(hs *httptest.Server) string { return "ws" + strings.TrimPrefix(hs.URL, "http") }

func TestSubscribeGraphQL_gqlgen(t *testing.T) {
	hs := gqlgenUpstream(t)
	for _, tc := range []struct {
		protocol, url string
	}{
		{"ws", wsURL(hs)},
		{"sse", hs.URL},
	} {
		t.Run(tc.protocol, func(t *testing.T) {
			cfg := GraphQLConfig{Protocol: tc.protocol, URL: tc.url, Client: client(t), Reconnect: fast(1)}
			req := GraphQLRequest{Query: `subscription S($n: Int!) { tick(n: $n) }`, OperationName: "S", Variables: map[string]any{"n": 3}}
			s, err := SubscribeGraphQL(context.Background(), cfg, req)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for i := 1; i <= 3; i++ {
				if got, want := next(t, s), `{"data":{"tick":`+itoa(int64(i))+`}}`; got != want {
					t.Fatalf("event %d: %s, want %s", i, got, want)
				}
			}
			wantEOF(t, s)
		})
		t.Run(tc.protocol+"/invalid", func(t *testing.T) {
			// gqlgen refuses a subscription that does not validate with an error message over graphql-transport-ws,
			// and with one next event carrying the errors, then complete, over graphql-sse (as the protocol says).
			cfg := GraphQLConfig{Protocol: tc.protocol, URL: tc.url, Client: client(t), Reconnect: fast(1)}
			s, err := SubscribeGraphQL(context.Background(), cfg, GraphQLRequest{Query: `subscription { nope }`})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			const msg = `Cannot query field "nope" on type "Subscription".`
			if tc.protocol == "ws" {
				if e := wantError(t, end(t, s), CodeGraphQLError, 0); e.Err.Error() != msg {
					t.Fatalf("error %q, want %q", e.Err, msg)
				}
				return
			}
			if got := next(t, s); !strings.Contains(got, `"errors":[{"message":"Cannot query field \"nope\"`) {
				t.Fatalf("event %s, want the validation error", got)
			}
			wantEOF(t, s)
		})
	}
}
