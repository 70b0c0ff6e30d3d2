package schema

import (
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	gqlvalidator "github.com/vektah/gqlparser/v2/validator"
)

// subgraphSchema derives from the supergraph document the schema subgraph sub serves, as far as the supergraph
// tells it (issue 14): its types, fields (external ones included, with their join__field(type:)), arguments,
// implemented interfaces, union members and enum values, an @interfaceObject interface as the object type the
// subgraph declares, and the entity protocol's _entities(representations:) over the types it resolves by key.
// Directive uses are left out. It returns nil when the result does not validate; the source then simply has no
// upstream schema, as one without `sdl:` has.
func (s *supergraph) subgraphSchema(doc *ast.SchemaDocument, sub *Subgraph) *ast.Schema {
	j := s.feat.join + "__"
	out := &ast.SchemaDocument{}
	for _, dd := range doc.Directives {
		if !s.machineryDirective(dd.Name) {
			out.Directives = append(out.Directives, dd)
		}
	}
	var entities []string
	kept := map[string]*ast.Definition{}
	for _, def := range doc.Definitions {
		t := s.fed.Types[def.Name]
		if t == nil || s.machineryType(def.Name) {
			continue
		}
		in, ok := t.In[sub.Name]
		if !ok && len(t.In) > 0 {
			continue
		}
		c := &ast.Definition{Kind: def.Kind, Name: def.Name, Description: def.Description, Position: def.Position}
		if in != nil && in.InterfaceObject {
			c.Kind = ast.Object
		}
		switch {
		case in != nil && in.Implements != nil:
			c.Interfaces = append(c.Interfaces, in.Implements...)
		case in == nil || s.feat.joinVersion == "v0.1":
			c.Interfaces = append(c.Interfaces, def.Interfaces...)
		}
		if members, ok := t.Members[sub.Name]; ok {
			c.Types = append(c.Types, members...)
		} else if t.Members == nil {
			c.Types = append(c.Types, def.Types...)
		}
		for _, v := range def.EnumValues {
			if graphs, ok := t.EnumValues[v.Name]; !ok && t.EnumValues == nil || contains(graphs, sub.Name) {
				c.EnumValues = append(c.EnumValues, &ast.EnumValueDefinition{Name: v.Name, Description: v.Description, Position: v.Position})
			}
		}
		for _, f := range def.Fields {
			if entityMachinery[f.Name] {
				continue
			}
			typ := f.Type
			if t.Fields != nil {
				ff := t.Fields[f.Name]
				if ff == nil {
					continue
				}
				fi, here := ff.In[sub.Name]
				if ff.Elsewhere || len(ff.In) > 0 && !here {
					continue
				}
				if fi != nil && fi.Type != "" {
					if parsed, err := parser.ParseQuery(&ast.Source{Input: "query($v: " + fi.Type + ") { __typename }"}); err == nil && len(parsed.Operations) == 1 && len(parsed.Operations[0].VariableDefinitions) == 1 {
						typ = parsed.Operations[0].VariableDefinitions[0].Type
					}
				}
			} else if dirs := f.Directives.ForNames(j + "field"); len(dirs) > 0 && !graphNamed(dirs, sub.Enum) {
				// An input field that other subgraphs declare.
				continue
			}
			fc := &ast.FieldDefinition{Name: f.Name, Description: f.Description, Arguments: stripArgs(f.Arguments), DefaultValue: f.DefaultValue, Type: typ, Position: f.Position}
			c.Fields = append(c.Fields, fc)
		}
		if in != nil && c.Kind == ast.Object {
			for _, k := range in.Keys {
				if k.Resolvable {
					entities = append(entities, c.Name)
					break
				}
			}
		}
		kept[c.Name] = c
		out.Definitions = append(out.Definitions, c)
	}
	// Drop what refers to types the subgraph does not have, so that the schema validates.
	for _, c := range out.Definitions {
		c.Interfaces = filterNames(c.Interfaces, func(n string) bool { d := kept[n]; return d != nil && d.Kind == ast.Interface })
		c.Types = filterNames(c.Types, func(n string) bool { d := kept[n]; return d != nil && d.Kind == ast.Object })
		var fields ast.FieldList
		for _, f := range c.Fields {
			if knownType(kept, f.Type) {
				var args ast.ArgumentDefinitionList
				for _, a := range f.Arguments {
					if knownType(kept, a.Type) {
						args = append(args, a)
					}
				}
				f.Arguments = args
				fields = append(fields, f)
			}
		}
		c.Fields = fields
	}
	if len(entities) > 0 {
		out.Definitions = append(out.Definitions,
			&ast.Definition{Kind: ast.Scalar, Name: "_Any"},
			&ast.Definition{Kind: ast.Union, Name: "_Entity", Types: entities})
		query := "Query"
		for _, sd := range doc.Schema {
			if op := sd.OperationTypes.ForType("query"); op != nil {
				query = op.Type
			}
		}
		if q := kept[query]; q != nil {
			q.Fields = append(q.Fields, &ast.FieldDefinition{Name: "_entities",
				Arguments: ast.ArgumentDefinitionList{{Name: "representations", Type: ast.NonNullListType(ast.NonNullNamedType("_Any", nil), nil)}},
				Type:      ast.NonNullListType(ast.NamedType("_Entity", nil), nil)})
		}
	}
	var filtered ast.DefinitionList
	for _, c := range out.Definitions {
		if len(c.Fields) > 0 || c.Kind != ast.Object && c.Kind != ast.Interface && c.Kind != ast.InputObject {
			filtered = append(filtered, c)
		} else {
			delete(kept, c.Name)
		}
	}
	out.Definitions = filtered
	// A type implements an interface here only if it has the interface's fields here (join v0.1 does not say).
	for _, c := range out.Definitions {
		c.Interfaces = filterNames(c.Interfaces, func(n string) bool {
			i := kept[n]
			if i == nil {
				return false
			}
			for _, f := range i.Fields {
				if c.Fields.ForName(f.Name) == nil {
					return false
				}
			}
			return true
		})
	}
	for _, sd := range doc.Schema {
		c := *sd
		c.Directives, c.OperationTypes = nil, nil
		for _, op := range sd.OperationTypes {
			if kept[op.Type] != nil {
				c.OperationTypes = append(c.OperationTypes, op)
			}
		}
		out.Schema = append(out.Schema, &c)
	}
	sd, err := parser.ParseSchema(gqlvalidator.Prelude)
	if err != nil {
		return nil
	}
	sd.Merge(out)
	schema, err := gqlvalidator.ValidateSchemaDocument(sd)
	if err != nil {
		return nil
	}
	return schema
}

func graphNamed(dirs ast.DirectiveList, enum string) bool {
	for _, d := range dirs {
		if argString(d, "graph") == enum {
			return true
		}
	}
	return false
}

func stripArgs(args ast.ArgumentDefinitionList) ast.ArgumentDefinitionList {
	out := make(ast.ArgumentDefinitionList, 0, len(args))
	for _, a := range args {
		out = append(out, &ast.ArgumentDefinition{Name: a.Name, Description: a.Description, DefaultValue: a.DefaultValue, Type: a.Type, Position: a.Position})
	}
	return out
}

func filterNames(names []string, keep func(string) bool) []string {
	var out []string
	for _, n := range names {
		if keep(n) {
			out = append(out, n)
		}
	}
	return out
}

func knownType(kept map[string]*ast.Definition, t *ast.Type) bool {
	name := t.Name()
	return kept[name] != nil || builtinScalars[name]
}

// subgraphSchemas gives every derived source without its own `sdl:` the schema of its subgraph.
func (s *supergraph) subgraphSchemas(srcs map[string]*Source) {
	for _, sub := range s.fed.Subgraphs {
		if src := srcs[sub.Name]; src != nil && src.Kind == KindGraphQL && src.HTTP != nil && src.HTTP.SDL == "" {
			src.Upstream = s.subgraphSchema(s.doc, sub)
		}
	}
}
