package main

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/examples/posts"
)

// TestAccessLog: one JSON line per /graphql request, with the operation's name, type and errors, the status,
// duration and client; none with the access log off (issue 16).
func TestAccessLog(t *testing.T) {
	env := newPosts(t, posts.Options{})
	srv := env.srv.Config.Handler.(*server)
	var out syncBuffer
	srv.access = slog.New(slog.NewJSONHandler(&out, nil))
	env.post(`query Titles { posts { title } }`, nil)
	env.post(`{ post(id: "999999") { title } nope }`, nil) // refused at validation: no operation ran
	srv.access = nil
	env.post(`{ posts { id } }`, nil)

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatalf("not JSON: %v: %s", err, lines[0])
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatalf("not JSON: %v: %s", err, lines[1])
	}
	for k, want := range map[string]any{"msg": "request", "method": "POST", "path": "/graphql", "status": 200.0, "operation": "Titles", "type": "query", "errors": 0.0} {
		if first[k] != want {
			t.Errorf("first line %s = %v, want %v (%s)", k, first[k], want, lines[0])
		}
	}
	if _, ok := first["duration_ms"].(float64); !ok || first["client"] == "" {
		t.Errorf("first line lacks duration or client: %s", lines[0])
	}
	if second["errors"] != nil && second["errors"] == 0.0 {
		t.Errorf("a refused operation logged no errors: %s", lines[1])
	}
}

// TestNewLogger: the log format and level flags, and their usage errors.
func TestNewLogger(t *testing.T) {
	for _, tc := range []struct {
		format, level string
		ok            bool
	}{{"text", "info", true}, {"json", "debug", true}, {"JSON", "warn", true}, {"xml", "info", false}, {"text", "loud", false}} {
		_, err := newLogger(tc.format, tc.level)
		if (err == nil) != tc.ok {
			t.Errorf("newLogger(%q, %q): %v", tc.format, tc.level, err)
		}
	}
}
