package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/examples/customer360"
)

// TestTransport_GraphQLOverHTTP holds POST and GET /graphql to the status table of GraphQL over HTTP (see
// transport.go): for each request and Accept, the status, Content-Type, whether the body has a "data" entry
// and the first error's code.
func TestTransport_GraphQLOverHTTP(t *testing.T) {
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	const (
		json_ = "application/json"
		gqlr  = "application/graphql-response+json"
		apq   = `"extensions":{"persistedQuery":{"version":1,"sha256Hash":"0000000000000000000000000000000000000000000000000000000000000000"}}`
	)
	get := func(params ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(params); i += 2 {
			v.Set(params[i], params[i+1])
		}
		return "/graphql?" + v.Encode()
	}
	deep := `{ customer(id: 1) {` + strings.Repeat(` tickets { messages { author {`, 6) + ` name` + strings.Repeat(` } } }`, 6) + ` } }`
	cases := []struct {
		name, method, target, contentType, accept, body string
		status                                          int
		data                                            bool   // the body has a "data" entry
		code                                            string // the first error's code, "" for none
	}{
		{name: "query", body: `{"query":"{ customer(id: 1) { name } }"}`, status: 200, data: true},
		{name: "query, graphql-response", accept: gqlr, body: `{"query":"{ customer(id: 1) { name } }"}`, status: 200, data: true},
		{name: "field error is 200 with data", accept: gqlr, body: `{"query":"{ customer(id: 999) { name } }"}`, status: 200, data: true},
		{name: "null parameters", body: `{"query":"{ __typename }","variables":null,"operationName":null,"extensions":null}`, status: 200, data: true},
		{name: "trailing whitespace", body: "{\"query\":\"{ __typename }\"} \n\t", status: 200, data: true},
		{name: "charset", contentType: "application/json; charset=utf-8", body: `{"query":"{ __typename }"}`, status: 200, data: true},

		{name: "parse error", accept: json_, body: `{"query":"{"}`, status: 200, code: "GRAPHQL_PARSE_FAILED"},
		{name: "parse error, no Accept", body: `{"query":"{"}`, status: 200, code: "GRAPHQL_PARSE_FAILED"},
		{name: "parse error, graphql-response", accept: gqlr, body: `{"query":"{"}`, status: 400, code: "GRAPHQL_PARSE_FAILED"},
		{name: "validation error", accept: json_, body: `{"query":"{ nope }"}`, status: 200, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "validation error, graphql-response", accept: gqlr, body: `{"query":"{ nope }"}`, status: 400, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "variable coercion", body: `{"query":"query($id: ID!) { customer(id: $id) { id } }","variables":{"id":null}}`, status: 200, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "variable coercion, graphql-response", accept: gqlr, body: `{"query":"query($id: ID!) { customer(id: $id) { id } }","variables":{"id":null}}`, status: 400, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "unknown operation", body: `{"query":"query A { __typename }","operationName":"B"}`, status: 200, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "refused by the engine", body: `{"query":"` + deep + `"}`, status: 200, code: "DEPTH_LIMIT_EXCEEDED"},
		{name: "refused by the engine, graphql-response", accept: gqlr, body: `{"query":"` + deep + `"}`, status: 400, code: "DEPTH_LIMIT_EXCEEDED"},
		{name: "token limit", body: `{"query":"{` + strings.Repeat(" __typename", 15000) + ` }"}`, status: 200, code: codeTokenLimit},
		{name: "token limit, graphql-response", accept: gqlr, body: `{"query":"{` + strings.Repeat(" __typename", 15000) + ` }"}`, status: 400, code: codeTokenLimit},
		{name: "APQ miss", body: `{` + apq + `}`, status: 200, code: "PERSISTED_QUERY_NOT_FOUND"},

		{name: "empty body", body: ``, status: 400, code: codeBadRequest},
		{name: "malformed JSON", body: `{ "not a JSON`, status: 400, code: codeBadRequest},
		{name: "malformed JSON, graphql-response", accept: gqlr, body: `{ "not a JSON`, status: 400, code: codeBadRequest},
		{name: "trailing object", body: `{"query":"{ __typename }"}{"query":"{ __typename }"}`, status: 400, code: codeBadRequest},
		{name: "trailing garbage", body: `{"query":"{ __typename }"} x`, status: 400, code: codeBadRequest},
		{name: "not an object", body: `["query"]`, status: 400, code: codeBadRequest},
		{name: "query not a string", body: `{"query":{"obj":"ect"}}`, status: 400, code: codeBadRequest},
		{name: "variables not an object", body: `{"query":"{ __typename }","variables":"x"}`, status: 400, code: codeBadRequest},
		{name: "extensions not an object", body: `{"query":"{ __typename }","extensions":[1]}`, status: 400, code: codeBadRequest},
		{name: "operationName not a string", body: `{"query":"{ __typename }","operationName":0}`, status: 400, code: codeBadRequest},
		{name: "no query", accept: gqlr, body: `{"qeury":"{ __typename }"}`, status: 400, code: codeBadRequest},
		{name: "null query", body: `{"query":null}`, status: 400, code: codeBadRequest},
		{name: "no Content-Type", contentType: "-", body: `{"query":"{ __typename }"}`, status: 415, code: codeBadRequest},
		{name: "text/plain", contentType: "text/plain", body: `{"query":"{ __typename }"}`, status: 415, code: codeBadRequest},
		{name: "PUT", method: "PUT", body: `{"query":"{ __typename }"}`, status: 405, code: codeBadRequest},

		{name: "GET query", method: "GET", target: get("query", "{ customer(id: 2) { name } }"), status: 200, data: true},
		{name: "GET variables", method: "GET", target: get("query", "query($id: ID!) { customer(id: $id) { name } }", "variables", `{"id":"2"}`), status: 200, data: true},
		{name: "GET parse error", method: "GET", target: get("query", "{"), status: 200, code: "GRAPHQL_PARSE_FAILED"},
		{name: "GET parse error, graphql-response", method: "GET", accept: gqlr, target: get("query", "{"), status: 400, code: "GRAPHQL_PARSE_FAILED"},
		{name: "GET validation error, graphql-response", method: "GET", accept: gqlr, target: get("query", "{ nope }"), status: 400, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "GET mutation", method: "GET", accept: gqlr, target: get("query", `mutation { addNote(customerId: 1, text: "x") { id } }`), status: 405, code: codeBadRequest},
		{name: "GET bad variables", method: "GET", target: get("query", "{ __typename }", "variables", `{"id":`), status: 400, code: codeBadRequest},
		{name: "GET variables trailing", method: "GET", target: get("query", "{ __typename }", "variables", `{} {}`), status: 400, code: codeBadRequest},
		{name: "GET no query", method: "GET", target: get("operationName", "A"), status: 400, code: codeBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method, target, contentType := c.method, c.target, c.contentType
			if method == "" {
				method = http.MethodPost
			}
			if target == "" {
				target = "/graphql"
			}
			if contentType == "" && method == http.MethodPost {
				contentType = json_
			}
			req, err := http.NewRequest(method, env.srv.URL+target, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if contentType != "-" {
				req.Header.Set("Content-Type", contentType)
			}
			if c.accept != "" {
				req.Header.Set("Accept", c.accept)
			}
			resp, err := env.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantType := c.accept
			if wantType == "" {
				wantType = json_
			}
			var body struct {
				Data   *json.RawMessage `json:"data"`
				Errors []struct {
					Message    string
					Extensions map[string]any
				}
			}
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("%d, not JSON: %s", resp.StatusCode, raw)
			}
			hasData := bytes.Contains(raw, []byte(`"data":`))
			code := ""
			if len(body.Errors) > 0 {
				code, _ = body.Errors[0].Extensions["code"].(string)
				if code == "" {
					code = "(none)"
				}
			}
			wantCode := c.code
			if wantCode == "" && !c.data {
				wantCode = "GRAPHQL_VALIDATION_FAILED" // the engine's refusals
			}
			if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != wantType || hasData != c.data ||
				(wantCode != "" && code != wantCode) || (c.data && body.Data == nil) {
				t.Errorf("got %d %s data=%v code=%s: %.300s\nwant %d %s data=%v code=%s", resp.StatusCode,
					resp.Header.Get("Content-Type"), hasData, code, raw, c.status, wantType, c.data, wantCode)
			}
			if c.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
				t.Errorf("405 without Allow")
			}
		})
	}
}

// TestTransport_NoEcho: an error never quotes the request body back (issue 13: a malformed 900 KB body came back
// whole in the error message), whatever is wrong with it.
func TestTransport_NoEcho(t *testing.T) {
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	pad := strings.Repeat("secret-", 900<<10/7)
	for name, body := range map[string]string{
		"malformed":       `{"query":"{ __typename }","x":"` + pad,
		"trailing":        `{"query":"{ __typename }"}` + pad,
		"wrong type":      `{"query":["` + pad + `"]}`,
		"invalid literal": `{"query":"{ __typename }","x":` + pad + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			status, raw := env.do(http.MethodPost, "/graphql", "application/json", []byte(body))
			if status != http.StatusBadRequest || len(raw) > 300 || strings.Contains(string(raw), "secret") {
				t.Errorf("%d, %d bytes: %.300s", status, len(raw), raw)
			}
		})
	}
	if _, raw := env.postRaw(`{ customer(id: 2) { name } }`, nil); string(raw) != `{"data":{"customer":{"name":"Grace Hopper"}}}` {
		t.Errorf("another client: %s", raw)
	}
}

// TestTransport_StaticErrorExtensions: a response with errors and extensions but no data (a request error, with
// the plan extension of a static source on) is one well-formed JSON object.
func TestTransport_StaticErrorExtensions(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"s.graphqls":   `type Query { me: User } type User { name: String friend: User }`,
		"conflux.yaml": "schema: [s.graphqls]\nsources:\n  fixtures: {static: {name: Ada}}\nbindings:\n  Query.me: {source: fixtures}\nserver: {maxDepth: 2, planExtension: true}\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := serveConfig(t, filepath.Join(dir, "conflux.yaml"), nil)
	for _, q := range []string{`{ me { friend { friend { name } } } }`, `{ me { name } }`, `{ nope }`} {
		_, raw := env.postRaw(q, nil)
		var v map[string]any
		if err := json.Unmarshal(raw, &v); err != nil || (v["data"] == nil && v["errors"] == nil) {
			t.Errorf("%s: %s", q, raw)
		}
	}
}
