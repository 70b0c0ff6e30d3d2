package graph_test

import (
	"encoding/json"
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

func TestPlan_Explain(t *testing.T) {
	sg, err := schema.Load("../examples/customer360/conflux.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := graph.New(sg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Plan(`{ customers { name orders { id lines { product { name } } } } }`, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	ex := p.Explain()
	got, _ := json.Marshal(ex)
	want := `{"operation":"query","fetches":[` +
		`{"id":1,"binding":"Query.customers","source":"crm","method":"GET","path":"/customers","mode":"root","dependsOn":[],"at":"customers","fills":["name"]},` +
		`{"id":2,"binding":"Customer.orders","source":"orders","method":"GET","path":"/orders","mode":"batched","match":["customerId"],"maxSize":100,"dependsOn":[1],"at":"customers.@.orders","fills":["id","lines"]},` +
		`{"id":3,"binding":"OrderLine.product","source":"catalog","method":"GET","path":"/products/{{keys}}","mode":"batched","dependsOn":[2],"at":"customers.@.orders.@.lines.@.product","fills":["name"]}]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	mermaid := p.Mermaid()
	for _, s := range []string{"flowchart LR", "op --> f1", "f1 -->|customers.@.orders| f2", "f2 -->|customers.@.orders.@.lines.@.product| f3"} {
		if !strings.Contains(mermaid, s) {
			t.Errorf("mermaid lacks %q:\n%s", s, mermaid)
		}
	}
	if _, err := e.Plan(`{ nope }`, "", nil); err == nil {
		t.Error("an invalid query must not plan")
	}
}
