package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/examples/customer360"
)

// TestAudit_GraphQLOverHTTP runs graphql-http's server audit (testdata/js, graphql-http 1.23.1: the checks of
// the GraphQL-over-HTTP spec, MUST, SHOULD and MAY) against Conflux on loopback: every check passes, with no
// warning. It needs node and testdata/js/node_modules (`npm ci --prefix testdata/js`, which CI runs).
func TestAudit_GraphQLOverHTTP(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the graphql-http audit needs it")
	}
	if _, err := os.Stat(filepath.Join("testdata", "js", "node_modules", "graphql-http")); err != nil {
		t.Skip("testdata/js/node_modules is missing: run npm ci --prefix testdata/js")
	}
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "audit.js", env.srv.URL+"/graphql")
	cmd.Dir = filepath.Join("testdata", "js")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node audit.js: %v\n%s", err, out)
	}
	var results []struct{ ID, Name, Status, Reason string }
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("audit output: %v\n%s", err, out)
	}
	if len(results) < 60 {
		t.Fatalf("only %d audits ran", len(results))
	}
	ok := 0
	for _, r := range results {
		if r.Status == "ok" {
			ok++
			continue
		}
		t.Errorf("%s %s %s: %s", r.Status, r.ID, r.Name, r.Reason)
	}
	t.Logf("%d/%d audits ok", ok, len(results))
	if status, raw := env.postRaw(`{ customer(id: 2) { name } }`, nil); status != 200 || string(raw) != `{"data":{"customer":{"name":"Grace Hopper"}}}` {
		t.Errorf("another client: %d %s", status, raw)
	}
}
