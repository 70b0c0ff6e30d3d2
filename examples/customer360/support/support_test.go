package support_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/conflux-gql/conflux/examples/customer360/support"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixture mirrors the shape of customer360.NewDataset's tickets (which this package may not import: customer360
// imports it), plus a ticket of customer 16, to reach the messages fault.
var fixture = []support.Ticket{
	{ID: "t1", CustomerID: "1", Subject: "Refund request", Status: "OPEN", Channel: "chat", TranscriptURL: "https://support.example/t/1"},
	{ID: "t2", CustomerID: "1", Subject: "Late delivery", Status: "OPEN", Channel: "email", FromAddress: "customer1@example.com"},
	{ID: "t3", CustomerID: "3", Subject: "Wrong size", Status: "CLOSED", Channel: "chat", TranscriptURL: "https://support.example/t/3"},
	{ID: "t4", CustomerID: "13", Subject: "Invoice copy", Status: "OPEN", Channel: "email", FromAddress: "customer13@example.com"},
	{ID: "t5", CustomerID: "16", Subject: "Login fails", Status: "OPEN", Channel: "chat", TranscriptURL: "https://support.example/t/5"},
}

// post sends one GraphQL request and returns the status and the compacted body.
func post(t *testing.T, srv *httptest.Server, query string) (int, string) {
	t.Helper()
	body, err := json.Marshal(map[string]string{"query": query})
	if err != nil {
		t.Fatal(err)
	}
	res, err := srv.Client().Post(srv.URL+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, compact(t, string(b))
}

func compact(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		t.Fatalf("not JSON: %v: %s", err, s)
	}
	return buf.String()
}

func TestNewHandler(t *testing.T) {
	const ticketFields = `__typename id customerId subject status messages { at text authorId }
		... on EmailTicket { fromAddress } ... on ChatTicket { transcriptUrl }`
	tests := []struct {
		name  string
		query string
		want  string
	}{
		{
			name:  "ticketsByCustomer, each type by its fragment, last two messages by default",
			query: `{ ticketsByCustomer(customerId: "1") { ` + ticketFields + ` } }`,
			want: `{"data":{"ticketsByCustomer":[
				{"__typename":"ChatTicket","id":"t1","customerId":"1","subject":"Refund request","status":"OPEN","messages":[
					{"at":"2026-03-02T09:05:00Z","text":"Looking into ticket t1","authorId":"agent-1"},
					{"at":"2026-03-02T09:10:00Z","text":"Any news on ticket t1?","authorId":"1"}],
				 "transcriptUrl":"https://support.example/t/1"},
				{"__typename":"EmailTicket","id":"t2","customerId":"1","subject":"Late delivery","status":"OPEN","messages":[
					{"at":"2026-03-02T09:05:00Z","text":"Looking into ticket t2","authorId":"agent-1"},
					{"at":"2026-03-02T09:10:00Z","text":"Any news on ticket t2?","authorId":"1"}],
				 "fromAddress":"customer1@example.com"}]}}`,
		},
		{
			name:  "ticketsByCustomer of a customer without tickets",
			query: `{ ticketsByCustomer(customerId: "2") { id } }`,
			want:  `{"data":{"ticketsByCustomer":[]}}`,
		},
		{
			name:  "ticketsByCustomers in the order asked, repeats once",
			query: `{ ticketsByCustomers(customerIds: ["3", "1", "2", "3"]) { __typename id customerId status messages(last: 1) { text } } }`,
			want: `{"data":{"ticketsByCustomers":[
				{"__typename":"ChatTicket","id":"t3","customerId":"3","status":"CLOSED","messages":[{"text":"Any news on ticket t3?"}]},
				{"__typename":"ChatTicket","id":"t1","customerId":"1","status":"OPEN","messages":[{"text":"Any news on ticket t1?"}]},
				{"__typename":"EmailTicket","id":"t2","customerId":"1","status":"OPEN","messages":[{"text":"Any news on ticket t2?"}]}]}}`,
		},
		{
			name:  "ticket, all messages when last is null or large",
			query: `{ ticket(id: "t2") { id all: messages(last: null) { at } many: messages(last: 9) { at } none: messages(last: 0) { at } } }`,
			want: `{"data":{"ticket":{"id":"t2",
				"all":[{"at":"2026-03-02T09:00:00Z"},{"at":"2026-03-02T09:05:00Z"},{"at":"2026-03-02T09:10:00Z"}],
				"many":[{"at":"2026-03-02T09:00:00Z"},{"at":"2026-03-02T09:05:00Z"},{"at":"2026-03-02T09:10:00Z"}],
				"none":[]}}}`,
		},
		{
			name:  "unknown ticket",
			query: `{ ticket(id: "t404") { id } }`,
			want:  `{"data":{"ticket":null}}`,
		},
		{
			name:  "negative last",
			query: `{ ticket(id: "t1") { id messages(last: -1) { at } } }`,
			want:  `{"errors":[{"message":"messages: last must not be negative, got -1","path":["ticket","messages"],"locations":[{"line":1,"column":25}]}],"data":{"ticket":{"id":"t1","messages":null}}}`,
		},
		{
			// subject is String!, so the ticket nulls; the list's items are nullable ([Ticket]!), so it stops there.
			name:  "customer 13: subject fails, the ticket is null",
			query: `{ ticketsByCustomer(customerId: "13") { id subject } }`,
			want:  `{"errors":[{"message":"subject unavailable for customer 13","path":["ticketsByCustomer",0,"subject"],"locations":[{"line":1,"column":44}]}],"data":{"ticketsByCustomer":[null]}}`,
		},
		{
			name:  "customer 13: subject fails under the nullable ticket field",
			query: `{ ticket(id: "t4") { id subject } }`,
			want:  `{"errors":[{"message":"subject unavailable for customer 13","path":["ticket","subject"],"locations":[{"line":1,"column":25}]}],"data":{"ticket":null}}`,
		},
		{
			name:  "customer 13: other fields are fine",
			query: `{ ticketsByCustomer(customerId: "13") { id status } }`,
			want:  `{"data":{"ticketsByCustomer":[{"id":"t4","status":"OPEN"}]}}`,
		},
		{
			name:  "customer 16: messages fail with a code, the nullable list is null",
			query: `{ ticketsByCustomer(customerId: "16") { id messages { text } } }`,
			want: `{"errors":[{"message":"messages unavailable for customer 16","path":["ticketsByCustomer",0,"messages"],"locations":[{"line":1,"column":44}],
				"extensions":{"code":"MESSAGES_DOWN"}}],"data":{"ticketsByCustomer":[{"id":"t5","messages":null}]}}`,
		},
		{
			name:  "customer 16: messages fail under the ticket field",
			query: `{ ticket(id: "t5") { id messages { text } } }`,
			want: `{"errors":[{"message":"messages unavailable for customer 16","path":["ticket","messages"],"locations":[{"line":1,"column":25}],
				"extensions":{"code":"MESSAGES_DOWN"}}],"data":{"ticket":{"id":"t5","messages":null}}}`,
		},
		{
			name:  "openTicket, email by default",
			query: `mutation { openTicket(input: {customerId: "2", subject: "Broken zip"}) { ` + ticketFields + ` } }`,
			want: `{"data":{"openTicket":{"__typename":"EmailTicket","id":"t6","customerId":"2","subject":"Broken zip","status":"OPEN","messages":[
				{"at":"2026-03-02T09:05:00Z","text":"Looking into ticket t6","authorId":"agent-1"},
				{"at":"2026-03-02T09:10:00Z","text":"Any news on ticket t6?","authorId":"2"}],
				"fromAddress":"customer2@example.com"}}}`,
		},
		{
			name:  "openTicket by chat",
			query: `mutation { openTicket(input: {customerId: "2", subject: "Broken zip", channel: CHAT}) { __typename id ... on ChatTicket { transcriptUrl } } }`,
			want:  `{"data":{"openTicket":{"__typename":"ChatTicket","id":"t6","transcriptUrl":"https://support.example/t/6"}}}`,
		},
		{
			name:  "introspection",
			query: `{ __type(name: "Ticket") { kind possibleTypes { name } } }`,
			want:  `{"data":{"__type":{"kind":"INTERFACE","possibleTypes":[{"name":"EmailTicket"},{"name":"ChatTicket"}]}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(support.NewHandler(fixture))
			defer srv.Close()
			status, got := post(t, srv, tt.query)
			if want := compact(t, tt.want); status != http.StatusOK || got != want {
				t.Errorf("got %d %s\nwant 200 %s", status, got, want)
			}
		})
	}
}

func TestNewHandler_openTicket(t *testing.T) {
	tickets := append([]support.Ticket(nil), fixture...)
	srv := httptest.NewServer(support.NewHandler(tickets))
	defer srv.Close()

	const n = 8
	var wg sync.WaitGroup
	ids := make([]string, n)
	for i := range n {
		wg.Go(func() {
			_, got := post(t, srv, fmt.Sprintf(`mutation { openTicket(input: {customerId: "2", subject: "s%d"}) { id } }`, i))
			ids[i] = got
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || !strings.HasPrefix(id, `{"data":{"openTicket":{"id":"t`) {
			t.Errorf("openTicket answers %q: want distinct new ids", ids)
		}
		seen[id] = true
	}

	_, got := post(t, srv, `{ ticketsByCustomer(customerId: "2") { id } }`)
	if c := strings.Count(got, `"id"`); c != n {
		t.Errorf("customer 2 has %d tickets after %d openTicket: %s", c, n, got)
	}
	if tickets[0] != fixture[0] || len(tickets) != len(fixture) {
		t.Errorf("NewHandler changed the caller's tickets")
	}
	// A second handler over the same tickets starts afresh.
	srv2 := httptest.NewServer(support.NewHandler(tickets))
	defer srv2.Close()
	if _, got := post(t, srv2, `{ ticketsByCustomer(customerId: "2") { id } }`); got != `{"data":{"ticketsByCustomer":[]}}` {
		t.Errorf("fresh handler: got %s", got)
	}
}

func TestNewHandler_methods(t *testing.T) {
	srv := httptest.NewServer(support.NewHandler(nil))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/graphql?query=%7B__typename%7D")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	// GET /graphql is routed for WebSocket upgrades only: a plain GET query is refused by gqlgen (no transport).
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /graphql: got %d, want 400", res.StatusCode)
	}
	if status, got := post(t, srv, `{ __typename }`); status != http.StatusOK || got != `{"data":{"__typename":"Query"}}` {
		t.Errorf("POST /graphql: got %d %s", status, got)
	}
}

func TestSDL(t *testing.T) {
	for _, want := range []string{"interface Ticket {", "type EmailTicket implements Ticket {", "openTicket(input: NewTicket!): Ticket!"} {
		if !strings.Contains(support.SDL, want) {
			t.Errorf("SDL lacks %q", want)
		}
	}
}

// TestNewHandler_ticketUpdates subscribes over both of the backend's stream transports: graphql-transport-ws
// (coder/websocket client) and GraphQL over SSE. Each gets the customer's open tickets, then each ticket opened
// for that customer, in order; a ticket of another customer is not sent.
func TestNewHandler_ticketUpdates(t *testing.T) {
	for name, open := range map[string]func(t *testing.T, ctx context.Context, srv *httptest.Server) func() string{
		"ws":  openWS,
		"sse": openSSE,
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(support.NewHandler(fixture))
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			next := open(t, ctx, srv)
			for _, want := range []string{
				`{"__typename":"ChatTicket","id":"t1","subject":"Refund request","status":"OPEN"}`,
				`{"__typename":"EmailTicket","id":"t2","subject":"Late delivery","status":"OPEN"}`,
			} {
				if got := next(); got != `{"data":{"ticketUpdates":`+want+`}}` {
					t.Fatalf("got %s, want ticket %s", got, want)
				}
			}
			post(t, srv, `mutation { openTicket(input: {customerId: "2", subject: "Not mine"}) { id } }`)
			post(t, srv, `mutation { openTicket(input: {customerId: "1", subject: "Mine", channel: CHAT}) { id } }`)
			if got, want := next(), `{"data":{"ticketUpdates":{"__typename":"ChatTicket","id":"t7","subject":"Mine","status":"OPEN"}}}`; got != want {
				t.Fatalf("after openTicket: got %s, want %s", got, want)
			}
			cancel()
		})
	}
}

// openWS subscribes to sub over graphql-transport-ws and returns a function reading the next `next` payload.
func openWS(t *testing.T, ctx context.Context, srv *httptest.Server) func() string {
	t.Helper()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
	send := func(msg string) {
		if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	read := func() map[string]json.RawMessage {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("not JSON: %s", b)
		}
		return m
	}
	send(`{"type":"connection_init"}`)
	if m := read(); string(m["type"]) != `"connection_ack"` {
		t.Fatalf("want connection_ack, got %v", m)
	}
	send(`{"type":"subscribe","id":"1","payload":{"query":` + strconv.Quote(`subscription { ticketUpdates(customerId: "1") { __typename id subject status } }`) + `}}`)
	return func() string {
		for {
			m := read()
			switch string(m["type"]) {
			case `"ping"`, `"pong"`:
				continue
			case `"next"`:
				return compact(t, string(m["payload"]))
			}
			t.Fatalf("want next, got %v", m)
		}
	}
}

// openSSE subscribes over GraphQL over SSE and returns a function reading the next `next` event's data.
func openSSE(t *testing.T, ctx context.Context, srv *httptest.Server) func() string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": `subscription { ticketUpdates(customerId: "1") { __typename id subject status } }`})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("status %d, Content-Type %q", res.StatusCode, ct)
	}
	sc := bufio.NewScanner(res.Body)
	return func() string {
		event := ""
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event:"); ok {
				event = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(line, "data:"); ok && event == "next" {
				return compact(t, strings.TrimSpace(v))
			}
		}
		t.Fatalf("stream ended: %v", sc.Err())
		return ""
	}
}
