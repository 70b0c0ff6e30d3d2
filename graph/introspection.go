package graph

import (
	"errors"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Introspection (__schema, __type) is answered from the schema's AST the way graphql-js 16 answers it, so that a
// client which rebuilds the schema from the answer (graphql-js buildClientSchema) and introspects that again gets
// the very same document (issue 13; testdata/js/reintrospect.js checks it):
//
//   - a __Type field that does not apply to the type's kind is null, not []: fields and interfaces exist on OBJECT
//     and INTERFACE, possibleTypes on INTERFACE and UNION, enumValues on ENUM, inputFields and isOneOf on
//     INPUT_OBJECT, specifiedByURL on SCALAR, ofType on LIST and NON_NULL (the spec's "The __Type Type");
//   - __schema.types is sorted by name; an interface's possibleTypes are the object types that implement it, in
//     that same order (graphql-js recomputes them from the type list, so any other order does not survive), and a
//     union's are its members in the order the SDL declares them;
//   - only the directives Conflux implements are advertised (see builtinDirectives);
//   - a default value is printed the way graphql-js prints it back (printDefault), and a deprecation without a
//     reason reports the spec's default reason, as graphql-js does;
//   - the built-in scalars carry graphql-js's descriptions.
//
// The values below are created per request, read-only views of the Supergraph's *ast.Schema, which is immutable.

// errIntrospectionOff answers __schema and __type when server.introspection is false.
var errIntrospectionOff = &codedError{code: "INTROSPECTION_DISABLED", err: errors.New("introspection is disabled on this server")}

// builtinDirectives lists the directives of gqlparser's prelude (and @stream, which the schema adds) and whether
// Conflux implements them; a prelude directive missing here is not advertised either. A directive the SDL itself
// declares is part of the user's schema and is advertised as written. @defer and @stream are delivered
// incrementally to clients that accept it (issue 17).
var builtinDirectives = map[string]bool{
	"include":     true,
	"skip":        true,
	"deprecated":  true,
	"specifiedBy": true,
	"oneOf":       true,
	"defer":       true,
	"stream":      true,
}

// scalarDescriptions are graphql-js 16's descriptions of the built-in scalars. buildClientSchema replaces the
// built-in scalars of an introspection answer with its own, so any other text does not survive a round trip
// (gqlparser's prelude differs in three of them).
var scalarDescriptions = map[string]string{
	"Int":     "The `Int` scalar type represents non-fractional signed whole numeric values. Int can represent values between -(2^31) and 2^31 - 1.",
	"Float":   "The `Float` scalar type represents signed double-precision fractional values as specified by [IEEE 754](https://en.wikipedia.org/wiki/IEEE_floating_point).",
	"String":  "The `String` scalar type represents textual data, represented as UTF-8 character sequences. The String type is most often used by GraphQL to represent free-form human-readable text.",
	"Boolean": "The `Boolean` scalar type represents `true` or `false`.",
	"ID":      "The `ID` scalar type represents a unique identifier, often used to refetch an object or as key for a cache. The ID type appears in a JSON response as a String; however, it is not intended to be human-readable. When expected as an input type, any string (such as `\"4\"`) or integer (such as `4`) input value will be accepted as an ID.",
}

// defaultDeprecationReason is the default of @deprecated(reason:).
const defaultDeprecationReason = "No longer supported"

type (
	// introSchema is a __Schema.
	introSchema struct{ s *ast.Schema }
	// introType is a __Type: a named type (def) or a LIST or NON_NULL wrapper (wrap).
	introType struct {
		s    *ast.Schema
		def  *ast.Definition
		wrap *ast.Type
	}
	// introField is a __Field.
	introField struct {
		s   *ast.Schema
		def *ast.FieldDefinition
	}
	// introInput is a __InputValue: an argument or an input field.
	introInput struct {
		s           *ast.Schema
		name        string
		description string
		typ         *ast.Type
		defaultVal  *ast.Value
		directives  ast.DirectiveList
	}
	// introEnumValue is a __EnumValue.
	introEnumValue struct{ def *ast.EnumValueDefinition }
	// introDirective is a __Directive.
	introDirective struct {
		s   *ast.Schema
		def *ast.DirectiveDefinition
	}
)

// introspectSchema returns the __schema root value.
func introspectSchema(e *Engine) any {
	return &introSchema{s: e.sg.Schema}
}

// introspectType returns the __type(name:) value, or nil for an unknown type.
func introspectType(e *Engine, name string) any {
	def := e.sg.Schema.Types[name]
	if def == nil {
		return nil
	}
	return &introType{s: e.sg.Schema, def: def}
}

func isIntrospection(v any) bool {
	switch v.(type) {
	case *introSchema, *introType, *introField, *introInput, *introEnumValue, *introDirective:
		return true
	}
	return false
}

// introspect reads field name of an introspection value. A nil result is null.
func introspect(v any, name string, args map[string]any) any {
	deprecated, _ := args["includeDeprecated"].(bool)
	switch t := v.(type) {
	case *introSchema:
		return t.field(name)
	case *introType:
		return t.field(name, deprecated)
	case *introField:
		switch name {
		case "name":
			return t.def.Name
		case "description":
			return str(t.def.Description)
		case "args":
			return inputs(t.s, t.def.Arguments, deprecated)
		case "type":
			return typeRef(t.s, t.def.Type)
		case "isDeprecated":
			return t.def.Directives.ForName("deprecated") != nil
		case "deprecationReason":
			return deprecationReason(t.def.Directives)
		}
	case *introInput:
		switch name {
		case "name":
			return t.name
		case "description":
			return str(t.description)
		case "type":
			return typeRef(t.s, t.typ)
		case "defaultValue":
			if t.defaultVal == nil {
				return nil
			}
			return printDefault(t.s, t.typ, t.defaultVal)
		case "isDeprecated":
			return t.directives.ForName("deprecated") != nil
		case "deprecationReason":
			return deprecationReason(t.directives)
		}
	case *introEnumValue:
		switch name {
		case "name":
			return t.def.Name
		case "description":
			return str(t.def.Description)
		case "isDeprecated":
			return t.def.Directives.ForName("deprecated") != nil
		case "deprecationReason":
			return deprecationReason(t.def.Directives)
		}
	case *introDirective:
		switch name {
		case "name":
			return t.def.Name
		case "description":
			return str(t.def.Description)
		case "locations":
			out := make([]any, len(t.def.Locations))
			for i, l := range t.def.Locations {
				out[i] = string(l)
			}
			return out
		case "args":
			return inputs(t.s, t.def.Arguments, deprecated)
		case "isRepeatable":
			return t.def.IsRepeatable
		}
	}
	return nil
}

func (t *introSchema) field(name string) any {
	switch name {
	case "description":
		return str(t.s.Description)
	case "types":
		defs := make([]*ast.Definition, 0, len(t.s.Types))
		for _, def := range t.s.Types {
			defs = append(defs, def)
		}
		slices.SortFunc(defs, func(a, b *ast.Definition) int { return strings.Compare(a.Name, b.Name) })
		out := make([]any, len(defs))
		for i, def := range defs {
			out[i] = &introType{s: t.s, def: def}
		}
		return out
	case "queryType":
		return named(t.s, t.s.Query)
	case "mutationType":
		return named(t.s, t.s.Mutation)
	case "subscriptionType":
		return named(t.s, t.s.Subscription)
	case "directives":
		defs := make([]*ast.DirectiveDefinition, 0, len(t.s.Directives))
		for _, d := range t.s.Directives {
			if advertised(d) {
				defs = append(defs, d)
			}
		}
		slices.SortFunc(defs, func(a, b *ast.DirectiveDefinition) int { return strings.Compare(a.Name, b.Name) })
		out := make([]any, len(defs))
		for i, d := range defs {
			out[i] = &introDirective{s: t.s, def: d}
		}
		return out
	}
	return nil
}

// advertised reports whether __schema.directives lists d: a directive of the SDL always, one of gqlparser's
// prelude only when Conflux implements it.
func advertised(d *ast.DirectiveDefinition) bool {
	if d.Position == nil || d.Position.Src == nil || !d.Position.Src.BuiltIn {
		return true
	}
	return builtinDirectives[d.Name]
}

func (t *introType) field(name string, deprecated bool) any {
	if t.wrap != nil {
		switch name {
		case "kind":
			if t.wrap.NonNull {
				return "NON_NULL"
			}
			return "LIST"
		case "ofType":
			if t.wrap.NonNull {
				inner := *t.wrap
				inner.NonNull = false
				return typeRef(t.s, &inner)
			}
			return typeRef(t.s, t.wrap.Elem)
		}
		return nil // every other field of a wrapper is null
	}
	def := t.def
	switch name {
	case "kind":
		return string(def.Kind)
	case "name":
		return def.Name
	case "description":
		if d, ok := scalarDescriptions[def.Name]; ok && def.BuiltIn {
			return d
		}
		return str(def.Description)
	case "specifiedByURL":
		if def.Kind != ast.Scalar {
			return nil
		}
		if d := def.Directives.ForName("specifiedBy"); d != nil {
			if url := d.Arguments.ForName("url"); url != nil && url.Value != nil {
				return url.Value.Raw
			}
		}
		return nil
	case "fields":
		if def.Kind != ast.Object && def.Kind != ast.Interface {
			return nil
		}
		out := make([]any, 0, len(def.Fields))
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") || (!deprecated && f.Directives.ForName("deprecated") != nil) {
				continue
			}
			out = append(out, &introField{s: t.s, def: f})
		}
		return out
	case "interfaces":
		if def.Kind != ast.Object && def.Kind != ast.Interface {
			return nil
		}
		out := make([]any, 0, len(def.Interfaces))
		for _, name := range def.Interfaces {
			if d := t.s.Types[name]; d != nil {
				out = append(out, &introType{s: t.s, def: d})
			}
		}
		return out
	case "possibleTypes":
		return possibleTypes(t.s, def)
	case "enumValues":
		if def.Kind != ast.Enum {
			return nil
		}
		out := make([]any, 0, len(def.EnumValues))
		for _, v := range def.EnumValues {
			if deprecated || v.Directives.ForName("deprecated") == nil {
				out = append(out, &introEnumValue{def: v})
			}
		}
		return out
	case "inputFields":
		if def.Kind != ast.InputObject {
			return nil
		}
		out := make([]any, 0, len(def.Fields))
		for _, f := range def.Fields {
			if deprecated || f.Directives.ForName("deprecated") == nil {
				out = append(out, &introInput{s: t.s, name: f.Name, description: f.Description, typ: f.Type,
					defaultVal: f.DefaultValue, directives: f.Directives})
			}
		}
		return out
	case "isOneOf":
		if def.Kind != ast.InputObject {
			return nil
		}
		return def.Directives.ForName("oneOf") != nil
	}
	return nil // ofType of a named type
}

// possibleTypes answers __Type.possibleTypes: a union's members in declaration order, an interface's object
// implementations sorted by name (the order of __schema.types, from which graphql-js derives them; gqlparser's
// list also holds the interfaces that extend this one, which are not possible runtime types), null for any other
// kind.
func possibleTypes(s *ast.Schema, def *ast.Definition) any {
	switch def.Kind {
	case ast.Union:
		out := make([]any, 0, len(def.Types))
		for _, name := range def.Types {
			if d := s.Types[name]; d != nil {
				out = append(out, &introType{s: s, def: d})
			}
		}
		return out
	case ast.Interface:
		var defs []*ast.Definition
		for _, d := range s.GetPossibleTypes(def) {
			if d.Kind == ast.Object {
				defs = append(defs, d)
			}
		}
		slices.SortFunc(defs, func(a, b *ast.Definition) int { return strings.Compare(a.Name, b.Name) })
		out := make([]any, len(defs))
		for i, d := range defs {
			out[i] = &introType{s: s, def: d}
		}
		return out
	}
	return nil
}

// inputs answers the args of a field or directive, leaving out the deprecated ones unless asked for them.
func inputs(s *ast.Schema, args ast.ArgumentDefinitionList, deprecated bool) any {
	out := make([]any, 0, len(args))
	for _, a := range args {
		if deprecated || a.Directives.ForName("deprecated") == nil {
			out = append(out, &introInput{s: s, name: a.Name, description: a.Description, typ: a.Type,
				defaultVal: a.DefaultValue, directives: a.Directives})
		}
	}
	return out
}

// typeRef is the __Type of a type reference: a wrapper for list and non-null types, else the named type.
func typeRef(s *ast.Schema, t *ast.Type) any {
	if t == nil {
		return nil
	}
	if t.NonNull || t.Elem != nil {
		return &introType{s: s, wrap: t}
	}
	return named(s, s.Types[t.NamedType])
}

func named(s *ast.Schema, def *ast.Definition) any {
	if def == nil {
		return nil
	}
	return &introType{s: s, def: def}
}

// deprecationReason is the reason of a @deprecated among directives, its default when it names none, or null when
// there is no @deprecated. graphql-js derives isDeprecated from the reason being set, so a deprecated element
// always has one.
func deprecationReason(directives ast.DirectiveList) any {
	d := directives.ForName("deprecated")
	if d == nil {
		return nil
	}
	if r := d.Arguments.ForName("reason"); r != nil && r.Value != nil && r.Value.Kind != ast.NullValue {
		return r.Value.Raw
	}
	return defaultDeprecationReason
}

func str(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// printDefault prints a default value as graphql-js prints it after reading it back, i.e. as
// print(astFromValue(valueFromAST(v, t), t)) does: the value coerced to its type, then printed canonically. A
// single value given for a list type becomes a one-item list; an input object lists its fields in declaration
// order, with the defaults of the fields it leaves out; a Float that is a whole number prints as an integer; an
// ID that is an integer string prints without quotes; strings are escaped as graphql-js's printString escapes
// them. Values graphql-js cannot print back (an object or list given for a custom scalar) print as GraphQL
// literals.
func printDefault(s *ast.Schema, t *ast.Type, v *ast.Value) string {
	var b strings.Builder
	printValue(&b, s, t, v)
	return b.String()
}

func printValue(b *strings.Builder, s *ast.Schema, t *ast.Type, v *ast.Value) {
	if v == nil || v.Kind == ast.NullValue {
		b.WriteString("null")
		return
	}
	if t != nil && t.Elem != nil {
		b.WriteByte('[')
		if v.Kind == ast.ListValue {
			for i, c := range v.Children {
				if i > 0 {
					b.WriteString(", ")
				}
				printValue(b, s, t.Elem, c.Value)
			}
		} else {
			printValue(b, s, t.Elem, v)
		}
		b.WriteByte(']')
		return
	}
	var def *ast.Definition
	if t != nil {
		def = s.Types[t.NamedType]
	}
	switch {
	case def != nil && def.Kind == ast.InputObject && v.Kind == ast.ObjectValue:
		b.WriteByte('{')
		n := 0
		for _, f := range def.Fields {
			fv := v.Children.ForName(f.Name)
			if fv == nil {
				fv = f.DefaultValue
			}
			if fv == nil {
				continue
			}
			if n > 0 {
				b.WriteString(", ")
			}
			n++
			b.WriteString(f.Name)
			b.WriteString(": ")
			printValue(b, s, f.Type, fv)
		}
		b.WriteByte('}')
	case def != nil && def.Kind == ast.Enum:
		b.WriteString(v.Raw)
	default:
		printScalar(b, def, v)
	}
}

// integerString is graphql-js's integerStringRegExp: the strings it prints as Int literals.
var integerString = regexp.MustCompile(`^-?(?:0|[1-9][0-9]*)$`)

// printScalar prints a scalar literal: the built-in scalars after their graphql-js coercion, a custom scalar as
// graphql-js's untyped reading of the literal gives it back.
func printScalar(b *strings.Builder, def *ast.Definition, v *ast.Value) {
	name := ""
	if def != nil {
		name = def.Name
	}
	switch v.Kind {
	case ast.IntValue, ast.FloatValue:
		if name == "ID" {
			b.WriteString(v.Raw) // an Int literal: already an integer string
			return
		}
		f, err := strconv.ParseFloat(v.Raw, 64)
		if err != nil || math.IsInf(f, 0) {
			b.WriteString(v.Raw)
			return
		}
		b.WriteString(jsNumber(f))
	case ast.StringValue, ast.BlockValue:
		if name == "ID" && integerString.MatchString(v.Raw) {
			b.WriteString(v.Raw)
			return
		}
		b.WriteString(printString(v.Raw))
	case ast.EnumValue:
		b.WriteString(printString(v.Raw)) // a custom scalar reads an enum literal as its name
	case ast.BooleanValue:
		b.WriteString(v.Raw)
	case ast.ListValue:
		b.WriteByte('[')
		for i, c := range v.Children {
			if i > 0 {
				b.WriteString(", ")
			}
			printScalar(b, def, c.Value)
		}
		b.WriteByte(']')
	case ast.ObjectValue:
		b.WriteByte('{')
		for i, c := range v.Children {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c.Name)
			b.WriteString(": ")
			printScalar(b, def, c.Value)
		}
		b.WriteByte('}')
	default:
		b.WriteString(v.String())
	}
}

// jsNumber formats f as JavaScript's Number#toString does (ECMA-262 Number::toString): the shortest digits that
// read back as f, in plain notation for decimal exponents in [-7, 21), else as d.ddde±x.
func jsNumber(f float64) string {
	if f == 0 {
		return "0" // also -0
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±xx
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	k, n := len(digits), x+1 // f = 0.digits × 10^n
	switch {
	case k <= n && n <= 21:
		return sign + digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		return sign + digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		return sign + "0." + strings.Repeat("0", -n) + digits
	}
	out := digits[:1]
	if k > 1 {
		out += "." + digits[1:]
	}
	if n-1 >= 0 {
		return sign + out + "e+" + strconv.Itoa(n-1)
	}
	return sign + out + "e-" + strconv.Itoa(1-n)
}

// printString quotes s as graphql-js's printString does: `"` and `\` escaped, C0 and C1 controls as \uXXXX
// except \b \t \n \f \r, everything else (all of Unicode above U+009F) as is.
func printString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			b.WriteString(`\u00`)
			b.WriteString(strings.ToUpper(strconv.FormatInt(int64(r)+0x100, 16)[1:]))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
