package schema

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// supergraph is one parsed supergraph file and what it tells (issue 14): the Federation the planner reads and the
// public part of its SDL, which loadSDL merges with the user's own schema files. Not safe for concurrent use.
type supergraph struct {
	*decoder
	fed *Federation
	// doc is the supergraph document as parsed; public is it without federation machinery and @inaccessible
	// elements.
	doc    *ast.SchemaDocument
	public *ast.SchemaDocument
	// subgraphPos is where each subgraph's join__Graph value is declared, by subgraph Name.
	subgraphPos map[string]Position
	// refused holds the join__Graph values already reported as broken, so that their uses are not reported again.
	refused map[string]bool
	feat    features
}

// features says what the supergraph's @link (or Federation 1 @core) directives name: the prefix the join
// specification takes, the local name of @inaccessible, and every directive and type that belongs to a linked
// specification and so is machinery, not part of the public schema.
type features struct {
	join        string
	joinVersion string
	// inaccessible is the local name of @inaccessible; empty when the supergraph does not link it.
	inaccessible string
	prefixes     map[string]bool
	names        map[string]bool
}

// Join specification versions Conflux reads (https://specs.apollo.dev/join/).
var joinVersions = []string{"v0.1", "v0.2", "v0.3", "v0.4", "v0.5"}

// The linked specifications whose meaning Conflux applies; a supergraph may link others, whose directives are
// metadata (tag, cost, ...) and are left out of the public schema, unless they are for SECURITY or EXECUTION.
var implementedFeatures = map[string]bool{"link": true, "core": true, "join": true, "inaccessible": true}

// entityMachinery are the types and root fields a subgraph declares for the federation protocol; a Federation 1
// supergraph may still carry them.
var entityMachinery = map[string]bool{"_Service": true, "_Entity": true, "_Any": true, "_entities": true, "_service": true}

var specVersion = regexp.MustCompile(`^v\d+\.\d+$`)

// loadSupergraph parses the supergraph SDL of file (full path, for positions) and derives the Federation and the
// public document; it returns nil when the file cannot be read as a supergraph at all. Every problem is reported.
func (d *decoder) loadSupergraph(file string, sdl []byte, fileRel string) *supergraph {
	doc, err := parser.ParseSchema(&ast.Source{Name: file, Input: string(sdl)})
	if err != nil {
		d.sdlProblems(gqlerror.WrapIfUnwrapped(err))
		return nil
	}
	before := len(d.list)
	s := &supergraph{decoder: d, subgraphPos: map[string]Position{}, refused: map[string]bool{},
		fed: &Federation{File: fileRel, ByName: map[string]*Subgraph{}, ByEnum: map[string]*Subgraph{}, Types: map[string]*FedType{}}}
	s.feat = s.features(doc)
	if !s.subgraphs(doc, file) {
		return nil
	}
	for _, def := range doc.Definitions {
		if !s.machineryType(def.Name) {
			s.fedType(def)
		}
	}
	for _, def := range doc.Extensions {
		s.errorf(astPos(def.Position, file), "supergraph", "a composed supergraph does not extend types (extend %s %s): compose it again with rover supergraph compose", strings.ToLower(string(def.Kind)), def.Name)
	}
	if d.hasErrorsSince(before) {
		return nil
	}
	s.doc = doc
	s.public = s.publicDocument(doc)
	return s
}

func (d *decoder) hasErrorsSince(n int) bool {
	for _, p := range d.list[n:] {
		if !p.Warning {
			return true
		}
	}
	return false
}

// features reads the schema's @link and @core directives.
func (s *supergraph) features(doc *ast.SchemaDocument) features {
	f := features{join: "join", prefixes: map[string]bool{}, names: map[string]bool{}}
	schemas := append(append(ast.SchemaDefinitionList{}, doc.Schema...), doc.SchemaExtension...)
	// The link directive is the one that links the link (or core) specification itself, whatever it is called;
	// another schema directive with a url argument (such as @contact) links nothing.
	linkDirs := map[string]bool{"link": true, "core": true}
	for _, sd := range schemas {
		for _, dir := range sd.Directives {
			if name, _ := specOf(linkURL(dir)); name == "link" || name == "core" {
				linkDirs[dir.Name] = true
			}
		}
	}
	for _, sd := range schemas {
		for _, dir := range sd.Directives {
			u := linkURL(dir)
			if u == "" || !linkDirs[dir.Name] {
				continue
			}
			name, version := specOf(u)
			prefix := name
			if as := argString(dir, "as"); as != "" {
				prefix = strings.TrimPrefix(as, "@")
			}
			// The @link (or @core) directive itself is machinery whatever it is called.
			f.names[dir.Name] = true
			f.prefixes[prefix] = true
			f.names[prefix] = true
			local := map[string]string{}
			if imp := dir.Arguments.ForName("import"); imp != nil && imp.Value != nil && imp.Value.Kind == ast.ListValue {
				for _, c := range imp.Value.Children {
					orig, as := importName(c.Value)
					if orig == "" {
						continue
					}
					if as == "" {
						as = orig
					}
					local[orig] = as
					f.names[strings.TrimPrefix(as, "@")] = true
				}
			}
			switch name {
			case "join":
				f.join = prefix
				f.joinVersion = version
				if !contains(joinVersions, version) {
					s.errorf(astPos(dir.Position, ""), "supergraph", "%s is not supported: Conflux reads join %s to %s; compose with a federation version that emits one of them",
						u, joinVersions[0], joinVersions[len(joinVersions)-1])
				}
			case "inaccessible":
				f.inaccessible = prefix
				if as, ok := local["@inaccessible"]; ok {
					f.inaccessible = strings.TrimPrefix(as, "@")
				}
			}
			purpose := argString(dir, "for")
			if !implementedFeatures[name] && (purpose == "SECURITY" || purpose == "EXECUTION") {
				s.errorf(astPos(dir.Position, ""), "supergraph", "%s is linked for %s, and Conflux does not implement it: serving the supergraph without it would answer what the subgraphs expect to be guarded or computed; remove its directives from the subgraphs and compose again",
					u, purpose)
			}
		}
	}
	return f
}

// linkURL returns the specification a @link (url:) or Federation 1 @core (feature:) directive links.
func linkURL(dir *ast.Directive) string {
	if u := argString(dir, "url"); u != "" {
		return u
	}
	return argString(dir, "feature")
}

// specOf splits a specification URL such as https://specs.apollo.dev/join/v0.3 into its name and version.
func specOf(u string) (name, version string) {
	p := u
	if pu, err := url.Parse(u); err == nil && pu.Path != "" {
		p = pu.Path
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if n := len(parts); n >= 2 && specVersion.MatchString(parts[n-1]) {
		return parts[n-2], parts[n-1]
	}
	return parts[len(parts)-1], ""
}

// importName reads one element of @link(import:): "@name", "Type", or {name: "@name", as: "@other"}.
func importName(v *ast.Value) (name, as string) {
	switch v.Kind {
	case ast.StringValue:
		return v.Raw, ""
	case ast.ObjectValue:
		for _, c := range v.Children {
			if c.Value == nil || c.Value.Kind != ast.StringValue {
				continue
			}
			switch c.Name {
			case "name":
				name = c.Value.Raw
			case "as":
				as = c.Value.Raw
			}
		}
	}
	return name, as
}

// machineryDirective reports whether a directive belongs to a linked specification.
func (s *supergraph) machineryDirective(name string) bool {
	if s.feat.names[name] {
		return true
	}
	if prefix, _, ok := strings.Cut(name, "__"); ok && s.feat.prefixes[prefix] {
		return true
	}
	return strings.HasPrefix(name, s.feat.join+"__")
}

// machineryType reports whether a type belongs to a linked specification or to the entity protocol.
func (s *supergraph) machineryType(name string) bool {
	return entityMachinery[name] || s.machineryDirective(name)
}

// subgraphs reads the join__Graph enum into s.fed.Subgraphs; false when the file has none.
func (s *supergraph) subgraphs(doc *ast.SchemaDocument, file string) bool {
	enum := doc.Definitions.ForName(s.feat.join + "__Graph")
	if enum == nil || enum.Kind != ast.Enum {
		s.errorf(Position{File: file, Line: 1, Column: 1}, "supergraph", "no %s__Graph enum: this is not a composed supergraph; compose one with rover supergraph compose (or @apollo/composition, wgc, hive)", s.feat.join)
		return false
	}
	graphDir := s.feat.join + "__graph"
	for _, v := range enum.EnumValues {
		pos := astPos(v.Position, file)
		dir := v.Directives.ForName(graphDir)
		if dir == nil {
			s.errorf(pos, "supergraph", "%s__Graph value %s has no @%s(name:, url:)", s.feat.join, v.Name, graphDir)
			s.refused[v.Name] = true
			continue
		}
		sg := &Subgraph{Name: argString(dir, "name"), Enum: v.Name, URL: argString(dir, "url")}
		if sg.Name == "" {
			sg.Name = strings.ToLower(v.Name)
		}
		if !isName(sg.Name) {
			s.errorf(pos, "supergraph", "subgraph name %q is not a source name (letters, digits, _ and -): rename the subgraph and compose again", sg.Name)
			s.refused[v.Name] = true
			continue
		}
		if prev := s.fed.ByName[sg.Name]; prev != nil {
			s.errorf(pos, "supergraph", "subgraph %q is named twice (%s and %s): give each subgraph its own name", sg.Name, prev.Enum, v.Name)
			s.refused[v.Name] = true
			continue
		}
		s.fed.Subgraphs = append(s.fed.Subgraphs, sg)
		s.fed.ByName[sg.Name] = sg
		s.fed.ByEnum[sg.Enum] = sg
		s.subgraphPos[sg.Name] = pos
	}
	if len(enum.EnumValues) == 0 {
		s.errorf(astPos(enum.Position, file), "supergraph", "%s__Graph lists no subgraph", s.feat.join)
	}
	return len(s.fed.Subgraphs) > 0
}

// graph returns the subgraph a join directive names with its graph argument; ok is false (and a problem is
// reported) for an unknown one, and true with a nil subgraph when the directive has no graph argument.
func (s *supergraph) graph(dir *ast.Directive) (*Subgraph, bool) {
	a := dir.Arguments.ForName("graph")
	if a == nil || a.Value == nil || a.Value.Kind == ast.NullValue {
		return nil, true
	}
	if sg := s.fed.ByEnum[a.Value.Raw]; sg != nil {
		return sg, true
	}
	if s.refused[a.Value.Raw] {
		return nil, false
	}
	var have []string
	for _, sg := range s.fed.Subgraphs {
		have = append(have, sg.Enum)
	}
	s.errorf(astPos(a.Position, ""), "supergraph", "@%s names graph %s, which %s__Graph does not declare (have: %s)", dir.Name, a.Value.Raw, s.feat.join, strings.Join(have, ", "))
	return nil, false
}

// fedType records where one supergraph type lives.
func (s *supergraph) fedType(def *ast.Definition) {
	t := &FedType{Name: def.Name, Kind: def.Kind, In: map[string]*TypeIn{}}
	s.fed.Types[def.Name] = t
	j := s.feat.join + "__"
	in := func(sg *Subgraph) *TypeIn {
		ti := t.In[sg.Name]
		if ti == nil {
			ti = &TypeIn{}
			t.In[sg.Name] = ti
		}
		return ti
	}
	var owner *Subgraph
	for _, dir := range def.Directives {
		switch dir.Name {
		case j + "type":
			sg, ok := s.graph(dir)
			if !ok || sg == nil {
				continue
			}
			ti := in(sg)
			ti.Extension = ti.Extension || argBool(dir, "extension", false)
			ti.InterfaceObject = ti.InterfaceObject || argBool(dir, "isInterfaceObject", false)
			if fields := argString(dir, "key"); fields != "" {
				sel, ok := s.fieldSet(dir, "key", def.Name, sg)
				if ok {
					ti.Keys = append(ti.Keys, &Key{Fields: fields, Selection: sel, Resolvable: argBool(dir, "resolvable", true)})
				}
			}
		case j + "owner":
			// Federation 1 (join v0.1): the owner declares the type and resolves its fields that name no graph.
			if sg, ok := s.graph(dir); ok && sg != nil {
				in(sg)
				owner = sg
			}
		case j + "implements":
			if sg, ok := s.graph(dir); ok && sg != nil {
				ti := in(sg)
				ti.Implements = append(ti.Implements, argString(dir, "interface"))
			}
		case j + "unionMember":
			if sg, ok := s.graph(dir); ok && sg != nil {
				if t.Members == nil {
					t.Members = map[string][]string{}
				}
				t.Members[sg.Name] = append(t.Members[sg.Name], argString(dir, "member"))
			}
		}
	}
	if s.feat.joinVersion == "v0.1" {
		// join v0.1 has no @join__implements: a type implements its interfaces wherever it lives.
		for _, ti := range t.In {
			ti.Implements = append([]string(nil), def.Interfaces...)
		}
	}
	for _, v := range def.EnumValues {
		for _, dir := range v.Directives.ForNames(j + "enumValue") {
			if sg, ok := s.graph(dir); ok && sg != nil {
				if t.EnumValues == nil {
					t.EnumValues = map[string][]string{}
				}
				t.EnumValues[v.Name] = append(t.EnumValues[v.Name], sg.Name)
			}
		}
	}
	if def.Kind != ast.Object && def.Kind != ast.Interface {
		return
	}
	t.Fields = map[string]*FedField{}
	for _, f := range def.Fields {
		if entityMachinery[f.Name] || strings.HasPrefix(f.Name, "__") {
			continue
		}
		ff := &FedField{Name: f.Name}
		t.Fields[f.Name] = ff
		bare := false
		for _, dir := range f.Directives.ForNames(j + "field") {
			sg, ok := s.graph(dir)
			if !ok {
				continue
			}
			if sg == nil {
				bare = true
				continue
			}
			if ff.In == nil {
				ff.In = map[string]*FieldIn{}
			}
			fi := &FieldIn{External: argBool(dir, "external", false), Override: argString(dir, "override"), UsedOverridden: argBool(dir, "usedOverridden", false)}
			if typ := argString(dir, "type"); typ != "" && typ != f.Type.String() {
				fi.Type = typ
			}
			if fi.RequiresFields = argString(dir, "requires"); fi.RequiresFields != "" {
				fi.Requires, _ = s.fieldSet(dir, "requires", def.Name+"."+f.Name, sg)
			}
			if fi.ProvidesFields = argString(dir, "provides"); fi.ProvidesFields != "" {
				fi.Provides, _ = s.fieldSet(dir, "provides", def.Name+"."+f.Name, sg)
			}
			ff.In[sg.Name] = fi
		}
		if len(ff.In) == 0 {
			ff.Elsewhere = bare
			if owner != nil && !bare {
				ff.In = map[string]*FieldIn{owner.Name: {}}
			}
		}
	}
}

// fieldSet parses the field set argument arg of dir (a key, requires or provides), written on what in subgraph sg.
func (s *supergraph) fieldSet(dir *ast.Directive, arg, what string, sg *Subgraph) (ast.SelectionSet, bool) {
	fields := argString(dir, arg)
	q, err := parser.ParseQuery(&ast.Source{Input: "{ " + fields + " }"})
	if err == nil && (len(q.Operations) != 1 || len(q.Fragments) != 0 || len(q.Operations[0].SelectionSet) == 0) {
		err = fmt.Errorf("it is not one selection set")
	}
	if err != nil {
		msg := err.Error()
		var ge *gqlerror.Error
		if e, ok := err.(*gqlerror.Error); ok {
			ge = e
			msg = ge.Message
		}
		pos := dir.Position
		if a := dir.Arguments.ForName(arg); a != nil && a.Position != nil {
			pos = a.Position
		}
		s.errorf(astPos(pos, ""), "supergraph", "the %s field set %q of %s in subgraph %s does not parse (%s): fix it in the subgraph and compose again", arg, fields, what, sg.Name, msg)
		return nil, false
	}
	return q.Operations[0].SelectionSet, true
}

func argValue(dir *ast.Directive, name string) *ast.Value {
	if a := dir.Arguments.ForName(name); a != nil {
		return a.Value
	}
	return nil
}

// argString returns a string (or enum) argument's value; "" when it is absent or null.
func argString(dir *ast.Directive, name string) string {
	v := argValue(dir, name)
	if v == nil || v.Kind == ast.NullValue || v.Kind == ast.ListValue || v.Kind == ast.ObjectValue {
		return ""
	}
	return v.Raw
}

func argBool(dir *ast.Directive, name string, def bool) bool {
	v := argValue(dir, name)
	if v == nil || v.Kind != ast.BooleanValue {
		return def
	}
	return v.Raw == "true"
}

// astPos converts a gqlparser position; file names the source when the position has none.
func astPos(p *ast.Position, file string) Position {
	if p == nil {
		return Position{File: file}
	}
	if p.Src != nil && p.Src.Name != "" {
		file = p.Src.Name
	}
	return Position{File: file, Line: p.Line, Column: p.Column}
}
