package schema

import "github.com/vektah/gqlparser/v2/ast"

// publicDocument returns the public part of a supergraph document (issue 14): without the federation machinery
// (the @link and @join__* directives, join__*/link__* types, the entity protocol's _Service, _Entity, _Any,
// _entities and _service, the directives and types of any other linked specification such as @tag) and without
// every @inaccessible element: types, fields, arguments, enum values, input fields, union members and
// implemented interfaces. Other directives (@deprecated, @specifiedBy, the supergraph's own executable ones) stay.
// doc is not changed; the result shares no list with it, so validating it does not touch the Federation.
func (s *supergraph) publicDocument(doc *ast.SchemaDocument) *ast.SchemaDocument {
	out := &ast.SchemaDocument{Position: doc.Position}
	for _, sd := range doc.Schema {
		c := *sd
		c.Directives = s.directives(sd.Directives)
		out.Schema = append(out.Schema, &c)
	}
	for _, sd := range doc.SchemaExtension {
		c := *sd
		c.Directives = s.directives(sd.Directives)
		if len(c.Directives) > 0 || len(c.OperationTypes) > 0 {
			out.SchemaExtension = append(out.SchemaExtension, &c)
		}
	}
	for _, dd := range doc.Directives {
		if !s.machineryDirective(dd.Name) {
			c := *dd
			c.Arguments = s.arguments(dd.Arguments)
			out.Directives = append(out.Directives, &c)
		}
	}
	hidden := map[string]bool{}
	for _, def := range doc.Definitions {
		if !s.machineryType(def.Name) && s.hidden(def.Directives) {
			hidden[def.Name] = true
		}
	}
	for _, def := range doc.Definitions {
		if s.machineryType(def.Name) || hidden[def.Name] {
			continue
		}
		c := *def
		c.Directives = s.directives(def.Directives)
		c.Interfaces = nil
		for _, i := range def.Interfaces {
			if !hidden[i] {
				c.Interfaces = append(c.Interfaces, i)
			}
		}
		c.Types, c.TypePositions = nil, nil
		for i, m := range def.Types {
			if hidden[m] {
				continue
			}
			c.Types = append(c.Types, m)
			if len(def.TypePositions) == len(def.Types) {
				c.TypePositions = append(c.TypePositions, def.TypePositions[i])
			}
		}
		c.Fields = nil
		for _, f := range def.Fields {
			if entityMachinery[f.Name] || s.hidden(f.Directives) {
				continue
			}
			fc := *f
			fc.Directives = s.directives(f.Directives)
			fc.Arguments = s.arguments(f.Arguments)
			c.Fields = append(c.Fields, &fc)
		}
		c.EnumValues = nil
		for _, v := range def.EnumValues {
			if s.hidden(v.Directives) {
				continue
			}
			vc := *v
			vc.Directives = s.directives(v.Directives)
			c.EnumValues = append(c.EnumValues, &vc)
		}
		out.Definitions = append(out.Definitions, &c)
	}
	return out
}

// hidden reports whether dirs holds @inaccessible (under its local name).
func (s *supergraph) hidden(dirs ast.DirectiveList) bool {
	return s.feat.inaccessible != "" && dirs.ForName(s.feat.inaccessible) != nil
}

// directives returns dirs without the machinery ones.
func (s *supergraph) directives(dirs ast.DirectiveList) ast.DirectiveList {
	var out ast.DirectiveList
	for _, d := range dirs {
		if !s.machineryDirective(d.Name) {
			out = append(out, d)
		}
	}
	return out
}

// arguments returns args without the @inaccessible ones, each without machinery directives.
func (s *supergraph) arguments(args ast.ArgumentDefinitionList) ast.ArgumentDefinitionList {
	var out ast.ArgumentDefinitionList
	for _, a := range args {
		if s.hidden(a.Directives) {
			continue
		}
		ac := *a
		ac.Directives = s.directives(a.Directives)
		out = append(out, &ac)
	}
	return out
}
