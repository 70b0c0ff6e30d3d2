package graph

import (
	"fmt"
	"strings"
)

// print writes call c's document. Every value a client gave goes into a variable ($_a<n>, typed by the public
// schema's argument), never into the text; what the text holds is names from the supergraph, the client's
// aliases (parsed as Names) and the argument values of @requires field sets, which come from the supergraph.
func (p *fedPlanner) print(c *fedCall) {
	var body strings.Builder
	var defs []string
	if c.root {
		p.printSel(&body, c, c.steps[0].sel)
	} else {
		body.WriteString("{ ")
		for i, st := range c.steps {
			fmt.Fprintf(&body, "_%d: _entities(representations: $r%d) { ... on %s ", i, i, st.repType)
			p.printSel(&body, c, st.sel)
			body.WriteString("} ")
			defs = append(defs, fmt.Sprintf("$r%d: [_Any!]!", i))
		}
		body.WriteString("}")
	}
	for _, v := range c.vars {
		defs = append(defs, "$"+v.name+": "+v.typ)
	}
	op := "query"
	if c.root && p.mutation {
		op = "mutation"
	}
	if len(defs) > 0 {
		op += "(" + strings.Join(defs, ", ") + ")"
	}
	c.doc = op + " " + strings.TrimSpace(body.String())
}

func (p *fedPlanner) printSel(b *strings.Builder, c *fedCall, s *fsel) {
	b.WriteString("{ ")
	if len(s.fields) == 0 && len(s.frags) == 0 {
		b.WriteString("__typename ")
	}
	for _, n := range s.fields {
		if n.alias != n.name {
			b.WriteString(n.alias + ": ")
		}
		b.WriteString(n.name)
		switch {
		case n.field != nil && len(n.field.Arguments) > 0:
			b.WriteByte('(')
			for i, a := range n.field.Arguments {
				if i > 0 {
					b.WriteString(", ")
				}
				v := &fedVar{name: fmt.Sprintf("_a%d", len(p.group.vars)), field: n.field, arg: a.Name}
				if def := n.field.Def.Arguments.ForName(a.Name); def != nil {
					v.typ = def.Type.String()
				}
				if v.typ == "" {
					p.fail("the type of argument %s of %s is unknown", a.Name, n.field.Name)
					continue
				}
				p.group.vars = append(p.group.vars, v)
				c.vars = append(c.vars, v)
				b.WriteString(a.Name + ": $" + v.name)
			}
			b.WriteByte(')')
		case n.args != "":
			b.WriteString(n.args)
		}
		b.WriteByte(' ')
		if n.sub != nil {
			p.printSel(b, c, n.sub)
		}
	}
	for _, f := range s.frags {
		b.WriteString("... on " + f.typ + " ")
		p.printSel(b, c, f)
	}
	b.WriteString("} ")
}

// String renders the group's subgraph calls for plans and explain, one per line: the call, the subgraph, what it
// waits for, and its document.
func (g *fedGroup) String() string {
	var b strings.Builder
	for _, c := range g.calls {
		kind := "root"
		if !c.root {
			var at []string
			for _, st := range c.steps {
				at = append(at, st.repType+" at "+strings.TrimPrefix(st.pos.path, "."))
			}
			kind = "entities " + strings.Join(at, ", ")
		}
		deps := ""
		if len(c.deps) > 0 {
			var ids []string
			for _, d := range c.deps {
				ids = append(ids, fmt.Sprintf("s%d", d.id))
			}
			deps = " after " + strings.Join(ids, ",")
		}
		fmt.Fprintf(&b, "s%d %s (%s)%s: %s\n", c.id, c.subgraph, kind, deps, c.doc)
	}
	return b.String()
}

// names lists the group's root fields, e.g. "Query.products, Query.me".
func (g *fedGroup) names() string {
	names := make([]string, len(g.fields))
	for i, f := range g.fields {
		names[i] = f.Binding.Name()
	}
	return strings.Join(names, ", ")
}

// explain lists the group's calls for Explain.
func (g *fedGroup) explain() []ExplainCall {
	ids := make([]int, len(g.fields))
	for i, f := range g.fields {
		ids[i] = f.Fetch.ID
	}
	out := make([]ExplainCall, 0, len(g.calls))
	for _, c := range g.calls {
		ec := ExplainCall{ID: c.id, Fetches: ids, Subgraph: c.subgraph, DependsOn: []int{}, Document: c.doc}
		for _, st := range c.steps {
			if st.entity {
				ec.Entities = append(ec.Entities, st.repType+" at "+strings.TrimPrefix(st.pos.path, "."))
			}
		}
		for _, d := range c.deps {
			ec.DependsOn = append(ec.DependsOn, d.id)
		}
		out = append(out, ec)
	}
	return out
}
