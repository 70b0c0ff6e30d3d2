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
	node := nodeWith(t, "graphql-http")
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

// nodeWith returns the path of node for a test that runs a script of testdata/js needing the npm package pkg. A
// machine without them skips the test; under CI (CI set, where .ci/run installs both) their absence fails it, so
// a broken install step cannot pass as a skip.
func nodeWith(t *testing.T, pkg string) string {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("CI") != "" {
		skip = t.Fatalf
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip("node is not installed: this test runs testdata/js with it")
	}
	if _, err := os.Stat(filepath.Join("testdata", "js", "node_modules", pkg, "package.json")); err != nil {
		skip("testdata/js/node_modules/%s is missing: run npm ci --prefix testdata/js", pkg)
	}
	return node
}
