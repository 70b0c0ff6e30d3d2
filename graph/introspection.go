package graph

import (
	"errors"

	"github.com/99designs/gqlgen/graphql/introspection"
)

// errIntrospectionOff answers __schema and __type when server.introspection is false.
var errIntrospectionOff = &codedError{code: "INTROSPECTION_DISABLED", err: errors.New("introspection is disabled on this server")}

// introspectSchema returns the __schema root value, built once per engine (schema version).
func introspectSchema(e *Engine) any {
	return e.introspection
}

// introspectType returns the __type(name:) value, or nil for an unknown type.
func introspectType(e *Engine, name string) any {
	def := e.sg.Schema.Types[name]
	if def == nil {
		return nil
	}
	return introspection.WrapTypeFromDef(e.sg.Schema, def)
}

func isIntrospection(v any) bool {
	switch v.(type) {
	case *introspection.Schema, *introspection.Type, *introspection.Field, *introspection.InputValue,
		*introspection.EnumValue, *introspection.Directive:
		return true
	}
	return false
}

// introspect reads field name of an introspection object, using gqlgen's introspection types.
func introspect(v any, name string, args map[string]any) any {
	deprecated, _ := args["includeDeprecated"].(bool)
	switch t := v.(type) {
	case *introspection.Schema:
		switch name {
		case "description":
			return str(t.Description())
		case "types":
			return list(t.Types())
		case "queryType":
			return typ(t.QueryType())
		case "mutationType":
			return typ(t.MutationType())
		case "subscriptionType":
			return typ(t.SubscriptionType())
		case "directives":
			return list(t.Directives())
		}
	case *introspection.Type:
		switch name {
		case "kind":
			return t.Kind()
		case "name":
			return str(t.Name())
		case "description":
			return str(t.Description())
		case "specifiedByURL":
			return str(t.SpecifiedByURL())
		case "fields":
			return list(t.Fields(deprecated))
		case "interfaces":
			return list(t.Interfaces())
		case "possibleTypes":
			return list(t.PossibleTypes())
		case "enumValues":
			return list(t.EnumValues(deprecated))
		case "inputFields":
			return list(t.VisibleInputFields(deprecated))
		case "ofType":
			return typ(t.OfType())
		case "isOneOf":
			return t.IsOneOf()
		}
	case *introspection.Field:
		switch name {
		case "name":
			return t.Name
		case "description":
			return str(t.Description())
		case "args":
			return list(t.VisibleArgs(deprecated))
		case "type":
			return typ(t.Type)
		case "isDeprecated":
			return t.IsDeprecated()
		case "deprecationReason":
			return str(t.DeprecationReason())
		}
	case *introspection.InputValue:
		switch name {
		case "name":
			return t.Name
		case "description":
			return str(t.Description())
		case "type":
			return typ(t.Type)
		case "defaultValue":
			return str(t.DefaultValue)
		case "isDeprecated":
			return t.IsDeprecated()
		case "deprecationReason":
			return str(t.DeprecationReason())
		}
	case *introspection.EnumValue:
		switch name {
		case "name":
			return t.Name
		case "description":
			return str(t.Description())
		case "isDeprecated":
			return t.IsDeprecated()
		case "deprecationReason":
			return str(t.DeprecationReason())
		}
	case *introspection.Directive:
		switch name {
		case "name":
			return t.Name
		case "description":
			return str(t.Description())
		case "locations":
			out := make([]any, len(t.Locations))
			for i, l := range t.Locations {
				out[i] = l
			}
			return out
		case "args":
			return list(t.VisibleArgs(deprecated))
		case "isRepeatable":
			return t.IsRepeatable
		}
	}
	return nil
}

func str(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func typ(t *introspection.Type) any {
	if t == nil {
		return nil
	}
	return t
}

// list converts a slice of introspection values to pointers, keeping nil (null) apart from empty ([]).
func list[T any](items []T) any {
	if items == nil {
		return nil
	}
	out := make([]any, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}
