package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/conflux-gql/conflux/examples/posts"
)

// TestGolden runs every testdata/<example>/<case>.graphql (with <case>.vars.json when present) against the
// example over HTTP and compares the whole response with <case>.json.
func TestGolden(t *testing.T) {
	envs := map[string]func(t *testing.T) *testEnv{
		"customer360": func(t *testing.T) *testEnv { return newCustomer360(t, customer360.Options{Latency: noLatency()}) },
		"posts":       func(t *testing.T) *testEnv { return newPosts(t, posts.Options{}) },
	}
	for example, start := range envs {
		t.Run(example, func(t *testing.T) {
			env := start(t)
			files, err := filepath.Glob(filepath.Join("testdata", example, "*.graphql"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no golden cases for %s: %v", example, err)
			}
			for _, file := range files {
				name := strings.TrimSuffix(filepath.Base(file), ".graphql")
				t.Run(name, func(t *testing.T) {
					query, err := os.ReadFile(file)
					if err != nil {
						t.Fatal(err)
					}
					var vars map[string]any
					if raw, err := os.ReadFile(strings.TrimSuffix(file, ".graphql") + ".vars.json"); err == nil {
						if err := json.Unmarshal(raw, &vars); err != nil {
							t.Fatalf("vars: %v", err)
						}
					}
					status, resp := env.postRaw(string(query), vars)
					if status != 200 {
						t.Errorf("status %d", status)
					}
					golden(t, strings.TrimSuffix(file, ".graphql")+".json", pretty(t, resp))
				})
			}
		})
	}
}

// noLatency turns the example backends' simulated latency off, for fast tests.
func noLatency() map[string]time.Duration {
	out := map[string]time.Duration{}
	for name := range customer360.DefaultAddrs {
		out[name] = 0
	}
	return out
}
