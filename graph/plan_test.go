package graph_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestNewPlan_Golden plans each testdata/plans/*.graphql against the Customer 360 example and compares the
// printed fetch tree with its .plan file. Planning calls no backend.
func TestNewPlan_Golden(t *testing.T) {
	sg, err := schema.Load("../examples/customer360/conflux.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/plans/*.graphql")
	if len(files) == 0 {
		t.Fatal("no cases")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			q, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			doc, errs := gqlparser.LoadQuery(sg.Schema, string(q))
			if errs != nil {
				t.Fatal(errs)
			}
			p, err := graph.NewPlan(sg, doc, doc.Operations[0], map[string]any{})
			if err != nil {
				t.Fatal(err)
			}
			want := strings.TrimSuffix(file, ".graphql") + ".plan"
			got := p.String()
			if *update {
				if err := os.WriteFile(want, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(want)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != got {
				t.Errorf("plan differs (-update rewrites)\n--- want\n%s--- got\n%s", b, got)
			}
		})
	}
}
