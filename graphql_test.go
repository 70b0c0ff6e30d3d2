package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/examples/customer360"
)

// TestGraphQL_UpstreamDocuments pins, for each testdata/upstream/<case>.graphql, the exact documents and
// variables the GraphQL support backend receives (its mock records them) and the client's answer.
func TestGraphQL_UpstreamDocuments(t *testing.T) {
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	files, _ := filepath.Glob("testdata/upstream/*.graphql")
	if len(files) == 0 {
		t.Fatal("no cases")
	}
	for _, file := range files {
		name := strings.TrimSuffix(file, ".graphql")
		t.Run(filepath.Base(name), func(t *testing.T) {
			q, _ := os.ReadFile(file)
			var vars map[string]any
			if raw, err := os.ReadFile(name + ".vars.json"); err == nil {
				json.Unmarshal(raw, &vars)
			}
			env.resetCounts()
			_, answer := env.postRaw(string(q), vars)
			var b strings.Builder
			for _, c := range env.backends["support"].Recorded() {
				var body struct {
					Query     string         `json:"query"`
					Variables map[string]any `json:"variables"`
				}
				if err := json.Unmarshal([]byte(c.Body), &body); err != nil {
					t.Fatalf("upstream body is not JSON: %s", c.Body)
				}
				vs, _ := json.Marshal(body.Variables)
				fmt.Fprintf(&b, "%s %s\n%s\nvariables: %s\n\n", c.Method, c.RequestURI, body.Query, vs)
			}
			b.WriteString("answer:\n")
			b.Write(pretty(t, answer))
			golden(t, name+".upstream", []byte(b.String()))
		})
	}
}
