package graph

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// String renders the plan's fetch DAG as an indented tree, one fetch per line: its binding, source, request,
// batching and the response path it fills. The form is stable and used by golden tests and explain.
func (p *Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d fetches", p.Operation, len(p.Fetches))
	if p.Introspective {
		b.WriteString(", introspection")
	}
	b.WriteByte('\n')
	for _, f := range p.Roots {
		printFetch(&b, f, 1)
	}
	var groups []*fedGroup
	for _, f := range p.Roots {
		if f.Fed != nil && (len(groups) == 0 || groups[len(groups)-1] != f.Fed) {
			groups = append(groups, f.Fed)
		}
	}
	for _, d := range p.Deferred {
		fmt.Fprintf(&b, "deferred #%d", d.ID)
		if d.Label != "" {
			fmt.Fprintf(&b, " %q", d.Label)
		}
		if d.Parent != nil {
			fmt.Fprintf(&b, " in #%d", d.Parent.ID)
		}
		fmt.Fprintf(&b, " at %s\n", cmp.Or(d.Path, "(root)"))
	}
	for _, f := range p.Streamed {
		fmt.Fprintf(&b, "streamed %s.%s\n", f.Parent, f.Alias)
	}
	for _, g := range groups {
		b.WriteString("subgraph calls of " + g.names() + ":\n")
		for _, line := range strings.SplitAfter(g.String(), "\n") {
			if line != "" {
				b.WriteString("  " + line)
			}
		}
	}
	return b.String()
}

func printFetch(b *strings.Builder, f *Fetch, depth int) {
	bd := f.Binding
	mode := "per parent"
	switch {
	case f.Parent == nil:
		mode = "root"
	case f.Batched:
		mode = "batched"
		if bd.Batch.Match != nil {
			var m []string
			for _, p := range bd.Batch.Match {
				m = append(m, strings.Join(p, "."))
			}
			mode += " match " + strings.Join(m, ",")
		} else {
			mode += " by position"
		}
		if bd.Batch.MaxSize > 0 {
			mode += fmt.Sprintf(" max %d", bd.Batch.MaxSize)
		}
	}
	method, path := f.fetcher.describe(f)
	if bd.Federated {
		method, path = "federated", "(subgraph calls below)"
	}
	if f.Defer != nil {
		mode += fmt.Sprintf(", deferred #%d", f.Defer.ID)
		if f.Defer.Label != "" {
			mode += " " + strconv.Quote(f.Defer.Label)
		}
	}
	fmt.Fprintf(b, "%s#%d %s <- %s %s %s (%s) at %s\n", strings.Repeat("  ", depth), f.ID, bd.Name(), bd.Source, method, path, mode, f.Path)
	for _, c := range f.Children {
		printFetch(b, c, depth+1)
	}
}
