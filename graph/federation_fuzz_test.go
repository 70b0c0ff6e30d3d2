package graph_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

var trailingAlias = regexp.MustCompile(`_[0-9]+: $`)

// queryGen writes a random query over a schema from fuzz bytes: fields of each type, aliases that take other
// fields' names, fragments on the possible types of abstract fields, @skip on some fields.
type queryGen struct {
	sch *ast.Schema
	b   []byte
	i   int
	n   int // fields written
}

func (g *queryGen) next() int {
	if g.i >= len(g.b) {
		return 0
	}
	g.i++
	return int(g.b[g.i-1])
}

func (g *queryGen) value(t *ast.Type) (string, bool) {
	if t.Elem != nil {
		v, ok := g.value(t.Elem)
		return "[" + v + "]", ok
	}
	def := g.sch.Types[t.NamedType]
	switch {
	case def == nil:
		return "", false
	case def.Kind == ast.Enum && len(def.EnumValues) > 0:
		return def.EnumValues[g.next()%len(def.EnumValues)].Name, true
	case t.NamedType == "Int":
		return fmt.Sprint(g.next() % 5), true
	case t.NamedType == "Float":
		return "1.5", true
	case t.NamedType == "Boolean":
		return fmt.Sprint(g.next()%2 == 0), true
	case def.Kind == ast.Scalar:
		return fmt.Sprintf("%q", fmt.Sprint(g.next()%4)), true
	}
	return "", false
}

func (g *queryGen) selection(def *ast.Definition, depth int) string {
	var fields []*ast.FieldDefinition
	for _, f := range def.Fields {
		if !strings.HasPrefix(f.Name, "_") {
			fields = append(fields, f)
		}
	}
	var b strings.Builder
	b.WriteString("{ ")
	if def.IsAbstractType() {
		b.WriteString("__typename ")
		for _, t := range g.sch.GetPossibleTypes(def) {
			if g.next()%2 == 0 && g.n < 60 {
				b.WriteString("... on " + t.Name + " " + g.selection(t, depth+1) + " ")
			}
		}
	}
	for k := 1 + g.next()%3; k > 0 && len(fields) > 0 && g.n < 60; k-- {
		f := fields[g.next()%len(fields)]
		args := ""
		ok := true
		for _, a := range f.Arguments {
			if a.Type.NonNull || g.next()%2 == 0 {
				var v string
				if v, ok = g.value(a.Type); !ok {
					break
				}
				args += a.Name + ": " + v + " "
			}
		}
		if !ok {
			continue
		}
		g.n++
		switch r := g.next() % 6; {
		case r == 0:
			b.WriteString(fields[g.next()%len(fields)].Name + ": ")
		case r == 1:
			fmt.Fprintf(&b, "a%d: ", g.n)
		}
		b.WriteString(f.Name)
		if args != "" {
			b.WriteString("(" + args + ")")
		}
		if g.next()%8 == 0 {
			b.WriteString(" @skip(if: false)")
		}
		if named := g.sch.Types[f.Type.Name()]; named != nil && (named.Kind == ast.Object || named.IsAbstractType()) {
			if depth > 4 {
				b.WriteString(" { __typename }")
			} else {
				b.WriteString(" " + g.selection(named, depth+1))
			}
		}
		b.WriteString(" ")
	}
	if g.n == 0 || b.Len() == 2 {
		b.WriteString("__typename ")
	}
	b.WriteString("}")
	return b.String()
}

// FuzzFederationPlan plans random queries over every fixture supergraph (testdata/federation/*): planning never
// panics, ends quickly, and makes a number of subgraph steps bounded by the query's size.
func FuzzFederationPlan(f *testing.F) {
	dirs, err := filepath.Glob(filepath.Join("..", "testdata", "federation", "*", "supergraph.graphql"))
	if err != nil || len(dirs) == 0 {
		f.Fatal("no fixture supergraphs", err)
	}
	var sgs []*schema.Supergraph
	for _, d := range dirs {
		sgs = append(sgs, fixtureSupergraph(f, filepath.Base(filepath.Dir(d))))
	}
	for i := range sgs {
		for _, seed := range []string{"", "\x01\x02\x03\x04\x05\x06\x07\x08", "\x00\x05\x02\x07\x01\x00\x03\x09\x02\x00\x04", "\xff\x10\x20\x30\x40\x50\x60\x70\x80\x90"} {
			f.Add(byte(i), []byte(seed+seed+seed))
		}
	}
	f.Fuzz(func(t *testing.T, which byte, b []byte) {
		sg := sgs[int(which)%len(sgs)]
		g := &queryGen{sch: sg.Schema, b: b}
		root := sg.Schema.Query
		if g.next()%4 == 0 && sg.Schema.Mutation != nil {
			root = sg.Schema.Mutation
		}
		op := "query"
		if root == sg.Schema.Mutation {
			op = "mutation"
		}
		q := op + " " + g.selection(root, 0)
		doc, errs := gqlparser.LoadQuery(sg.Schema, q)
		if errs != nil {
			return // aliases that cannot merge, and the like: not a valid query
		}
		start := time.Now()
		p, err := graph.NewPlan(sg, doc, doc.Operations[0], nil)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("planning took %v: %s", d, q)
		}
		if err != nil {
			return
		}
		steps := 0
		for _, l := range strings.Split(p.String(), "\n") {
			l = strings.TrimSpace(l)
			if !strings.HasPrefix(l, "s") || !strings.Contains(l, " (") {
				continue
			}
			steps += 1 + strings.Count(l, "_entities(") - min(1, strings.Count(l, "_entities("))
			// Two `_entities` selections of one request with the same document at the same position are one
			// step made twice (the planner chaining useless hops).
			seen := map[string]bool{}
			var at []string
			if i := strings.Index(l, "(entities "); i >= 0 {
				at = strings.Split(l[i+len("(entities "):i+strings.Index(l[i:], ")")], ", ")
			}
			for i, e := range strings.Split(l, "_entities(")[1:] {
				e = trailingAlias.ReplaceAllString(e[strings.Index(e, ")"):], "")
				if i < len(at) {
					e = at[i] + " " + e
				}
				if seen[e] {
					t.Fatalf("a request asks twice for %q: %s\n%s", e, q, p)
				}
				seen[e] = true
			}
		}
		if max := 4*(g.n+1) + 8; steps > max {
			t.Fatalf("%d subgraph steps for a query of %d fields (at most %d): %s\n%s", steps, g.n, max, q, p)
		}
	})
}
