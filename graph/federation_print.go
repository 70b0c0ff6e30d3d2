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
	p.printFields(b, c, s, nil)
	renamed := s.aliases(p, c.subgraph)
	for _, f := range s.frags {
		b.WriteString("... on " + f.typ + " ")
		b.WriteString("{ ")
		if len(f.fields) == 0 && len(f.frags) == 0 {
			b.WriteString("__typename ")
		}
		p.printFields(b, c, f, renamed[f])
		for _, ff := range f.frags {
			b.WriteString("... on " + ff.typ + " ")
			p.printSel(b, c, ff)
		}
		b.WriteString("} ")
	}
	b.WriteString("} ")
}

// aliases picks, for the fragments of s, the response keys that two fragments select with different types in
// subgraph sub (ID! and ID, say): every fragment but the first to use such a key gets it as key__alias_<n>.
func (s *fsel) aliases(p *fedPlanner, sub string) map[*fsel]map[string]string {
	if len(s.frags) < 2 {
		return nil
	}
	types := map[string]string{}
	var out map[*fsel]map[string]string
	n := 0
	for _, f := range s.frags {
		for _, fn := range f.fields {
			t := p.subgraphType(sub, f.typ, fn.name)
			prev, seen := types[fn.alias]
			switch {
			case !seen:
				types[fn.alias] = t
			case prev != t:
				if out == nil {
					out = map[*fsel]map[string]string{}
				}
				if out[f] == nil {
					out[f] = map[string]string{}
				}
				out[f][fn.alias] = fmt.Sprintf("%s__alias_%d", fn.alias, n)
				n++
			}
		}
	}
	return out
}

// subgraphType is the type of typ.field in subgraph sub, as text.
func (p *fedPlanner) subgraphType(sub, typ, field string) string {
	if field == "__typename" {
		return "String!"
	}
	if in := p.fieldIn(typ, field, sub); in != nil && in.Type != "" {
		return in.Type
	}
	if def := p.sch.Types[typ]; def != nil {
		if fd := def.Fields.ForName(field); fd != nil {
			return fd.Type.String()
		}
	}
	return ""
}

// printFields writes the fields of s; renamed gives the fields whose response key is aliased in this document.
func (p *fedPlanner) printFields(b *strings.Builder, c *fedCall, s *fsel, renamed map[string]string) {
	for _, n := range s.fields {
		if to, ok := renamed[n.alias]; ok {
			b.WriteString(to + ": ")
			c.renames = append(c.renames, rename{at: s.at, from: to, to: n.alias})
		} else if n.alias != n.name {
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
