package schema

import "github.com/vektah/gqlparser/v2/ast"

// Federation is what a composed Apollo Federation 2 supergraph (the top-level `supergraph:` key) tells the
// planner: the subgraphs, and for every type and field which subgraphs can resolve it and by which keys
// (issue 14). It is derived at load, immutable after, and safe for concurrent use.
//
// The public schema (Supergraph.Schema) is the supergraph without its federation machinery (join__*, link__*,
// @link, @inaccessible elements), plus the user's own `schema` files; Federation only describes the federated
// part of it.
type Federation struct {
	// File is the supergraph file, relative to the configuration's directory.
	File string
	// Subgraphs lists the subgraphs in join__Graph order.
	Subgraphs []*Subgraph
	// ByName indexes Subgraphs by Name, ByEnum by the join__Graph enum value.
	ByName map[string]*Subgraph
	ByEnum map[string]*Subgraph
	// Types holds every named type of the public schema that the supergraph declares (objects, interfaces,
	// unions, enums, inputs, scalars), by name.
	Types map[string]*FedType
}

// Subgraph is one federated service. A graphql source of the same Name calls it.
type Subgraph struct {
	// Name is join__graph(name:), also the derived source's name.
	Name string
	// Enum is the join__Graph enum value that the join__* directives use to name it.
	Enum string
	// URL is join__graph(url:).
	URL string
}

// FedType is one supergraph type and where it lives.
type FedType struct {
	Name string
	Kind ast.DefinitionKind
	// In holds, per subgraph Name, how the subgraph declares the type (@join__type). A type with no @join__type
	// at all (rare: only built-ins) is in every subgraph.
	In map[string]*TypeIn
	// Fields holds every field of an object or interface type, by name.
	Fields map[string]*FedField
	// Members holds, for a union, its members per subgraph Name (@join__unionMember).
	Members map[string][]string
	// EnumValues holds, for an enum, the subgraphs that declare each value (@join__enumValue); a value missing
	// here is in every subgraph of the enum.
	EnumValues map[string][]string
}

// TypeIn is how one subgraph declares a type.
type TypeIn struct {
	// Keys are the type's @key field sets in this subgraph, in declaration order.
	Keys []*Key
	// Extension says the subgraph declared the type as an extension (`extend type`, Federation 1 style).
	Extension bool
	// InterfaceObject says the subgraph declares this interface as an object type (@interfaceObject): its
	// entities are resolved with __typename set to the interface's name.
	InterfaceObject bool
	// Implements lists the interfaces the type implements in this subgraph (@join__implements).
	Implements []string
}

// Key is one @key of a type in one subgraph.
type Key struct {
	// Fields is the field set as written, e.g. "id" or "upc organization { id }".
	Fields string
	// Selection is Fields parsed.
	Selection ast.SelectionSet
	// Resolvable is false for @key(resolvable: false): the subgraph names the key but has no entity resolver.
	Resolvable bool
}

// FedField is one field of a supergraph object or interface type and the subgraphs that have it.
type FedField struct {
	Name string
	// In holds, per subgraph Name, how the subgraph declares the field (@join__field). A field without any
	// @join__field is in every subgraph that has its type, plainly resolvable (FieldIn zero value).
	In map[string]*FieldIn
	// Elsewhere says the supergraph marks the field with a bare @join__field (no graph): no subgraph declares it
	// on this type; it comes from an @interfaceObject of an interface the type implements.
	Elsewhere bool
}

// FieldIn is how one subgraph declares a field (@join__field arguments).
type FieldIn struct {
	// External says the subgraph declares the field but does not resolve it (it only reads or provides it).
	External bool
	// Requires is the field set the subgraph needs in the entity representation to resolve the field.
	Requires ast.SelectionSet
	// RequiresFields is Requires as written.
	RequiresFields string
	// Provides is the field set of the field's type this subgraph resolves on this path, external or not.
	Provides ast.SelectionSet
	// ProvidesFields is Provides as written.
	ProvidesFields string
	// Override names the subgraph the field was moved from; UsedOverridden says this subgraph's copy was
	// overridden by another subgraph and must not be used to resolve the field.
	Override       string
	UsedOverridden bool
	// Type is the field's type in this subgraph when it differs from the supergraph's (join__field(type:)).
	Type string
}

// Resolvers returns the names of the subgraphs that can resolve typ.field on any path (not external, not
// overridden), in join__Graph order. Nil when the type or field is not federated.
func (f *Federation) Resolvers(typ, field string) []string {
	t := f.Types[typ]
	if t == nil {
		return nil
	}
	fd := t.Fields[field]
	if fd == nil {
		return nil
	}
	var out []string
	for _, sg := range f.Subgraphs {
		if f.CanResolve(sg.Name, typ, field) {
			out = append(out, sg.Name)
		}
	}
	return out
}

// CanResolve reports whether subgraph sub resolves typ.field without a @provides on the path: the type is in the
// subgraph and the field is there neither external nor overridden.
func (f *Federation) CanResolve(sub, typ, field string) bool {
	t := f.Types[typ]
	if t == nil {
		return false
	}
	fd := t.Fields[field]
	if fd == nil {
		return false
	}
	if len(fd.In) == 0 {
		if fd.Elsewhere {
			return false
		}
		_, ok := t.In[sub]
		return ok || len(t.In) == 0
	}
	in, ok := fd.In[sub]
	return ok && !in.External && !in.UsedOverridden
}
