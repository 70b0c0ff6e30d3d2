package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/conflux-gql/conflux/examples/posts"
)

var update = flag.Bool("update", false, "rewrite the golden answers under testdata/")

// TestBaseline asks the baseline the posts example's queries over HTTP against the real posts backend: the
// answers are the golden ones (the same bytes Conflux answers, which the benchmark checks again at every run) and
// every batched field costs one upstream call.
func TestBaseline(t *testing.T) {
	backend, err := posts.Start(posts.Options{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	srv := httptest.NewServer(newHandler(backend.URL()))
	defer srv.Close()

	cases := []struct {
		name, query string
		// The fewest upstream calls (each loader's 1 ms window caught every key) and the most: gqlgen resolves
		// list items in goroutines that can miss the window and split a batch (the benchmark reports the
		// average), so only the loaders' cache is certain: at most one call per distinct key.
		least, most int64
	}{
		{"posts_users", `{ posts { id title user { id name email } } }`, 2, 1 + 10},
		{"post_missing", `{ post(id: 999) { id } }`, 1, 1},
		{"users_posts_comments", `{ users { id company posts { id comments { id } } } }`, 3, 1 + 10 + 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			backend.Reset()
			body, _ := json.Marshal(map[string]string{"query": c.query})
			resp, err := http.Post(srv.URL+"/graphql", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			golden := filepath.Join("testdata", c.name+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("answer differs from %s:\n got %.300s\nwant %.300s", golden, got, want)
			}
			if n := backend.Requests(); n < c.least || n > c.most {
				t.Errorf("%d upstream requests, want %d to %d", n, c.least, c.most)
			}
		})
	}
}
