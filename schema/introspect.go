package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Introspector fetches a graphql source's introspection answer (the JSON response to gqlgen's
// introspection.Query) for a source that names no `sdl:` file. The server passes one that asks the source's
// first endpoint; tests pass fakes.
type Introspector func(src *Source) ([]byte, error)

// WithIntrospection reads the upstream schema of every graphql source without an `sdl:` file by introspection at
// load. Without it, or when the upstream cannot be reached, such a source's forwarded selections are not checked
// before they are sent (a warning says so).
func WithIntrospection(fetch Introspector) Option {
	return func(o *options) { o.introspect = fetch }
}

// introspection is the part of an introspection answer an SDL is printed from.
type introspection struct {
	Data *struct {
		Schema *struct {
			QueryType        *struct{ Name string } `json:"queryType"`
			MutationType     *struct{ Name string } `json:"mutationType"`
			SubscriptionType *struct{ Name string } `json:"subscriptionType"`
			Types            []introType            `json:"types"`
			Directives       []struct {
				Name         string       `json:"name"`
				Description  *string      `json:"description"`
				Locations    []string     `json:"locations"`
				Args         []introValue `json:"args"`
				IsRepeatable bool         `json:"isRepeatable"`
			} `json:"directives"`
		} `json:"__schema"`
	} `json:"data"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

type introType struct {
	Kind        string  `json:"kind"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	Fields      []struct {
		Name              string       `json:"name"`
		Description       *string      `json:"description"`
		Args              []introValue `json:"args"`
		Type              introTypeRef `json:"type"`
		IsDeprecated      bool         `json:"isDeprecated"`
		DeprecationReason *string      `json:"deprecationReason"`
	} `json:"fields"`
	InputFields []introValue   `json:"inputFields"`
	Interfaces  []introTypeRef `json:"interfaces"`
	EnumValues  []struct {
		Name              string  `json:"name"`
		Description       *string `json:"description"`
		IsDeprecated      bool    `json:"isDeprecated"`
		DeprecationReason *string `json:"deprecationReason"`
	} `json:"enumValues"`
	PossibleTypes []introTypeRef `json:"possibleTypes"`
}

type introValue struct {
	Name         string       `json:"name"`
	Description  *string      `json:"description"`
	Type         introTypeRef `json:"type"`
	DefaultValue *string      `json:"defaultValue"`
}

type introTypeRef struct {
	Kind   string        `json:"kind"`
	Name   string        `json:"name"`
	OfType *introTypeRef `json:"ofType"`
}

// builtinScalars and builtinDirectives are declared by every GraphQL schema; an SDL does not repeat them.
var (
	builtinScalars    = map[string]bool{"String": true, "Int": true, "Float": true, "Boolean": true, "ID": true}
	builtinDirectives = map[string]bool{"skip": true, "include": true, "deprecated": true, "specifiedBy": true, "oneOf": true, "defer": true, "stream": true}
)

// IntrospectionSDL prints the schema an introspection answer describes as SDL, types in name order.
func IntrospectionSDL(answer []byte) (string, error) {
	var in introspection
	if err := json.Unmarshal(answer, &in); err != nil {
		return "", fmt.Errorf("the introspection answer is not JSON of the expected shape: %w", err)
	}
	if len(in.Errors) > 0 {
		return "", fmt.Errorf("the introspection query failed: %s", in.Errors[0].Message)
	}
	if in.Data == nil || in.Data.Schema == nil {
		return "", errors.New("the introspection answer has no data.__schema")
	}
	s := in.Data.Schema
	var b strings.Builder
	if s.QueryType != nil {
		b.WriteString("schema {\n  query: " + s.QueryType.Name + "\n")
		if s.MutationType != nil {
			b.WriteString("  mutation: " + s.MutationType.Name + "\n")
		}
		if s.SubscriptionType != nil {
			b.WriteString("  subscription: " + s.SubscriptionType.Name + "\n")
		}
		b.WriteString("}\n")
	}
	for _, d := range s.Directives {
		if builtinDirectives[d.Name] {
			continue
		}
		b.WriteString("\n")
		description(&b, "", d.Description)
		b.WriteString("directive @" + d.Name + args(d.Args))
		if d.IsRepeatable {
			b.WriteString(" repeatable")
		}
		b.WriteString(" on " + strings.Join(d.Locations, " | ") + "\n")
	}
	types := append([]introType(nil), s.Types...)
	sort.Slice(types, func(i, j int) bool { return types[i].Name < types[j].Name })
	for _, t := range types {
		if strings.HasPrefix(t.Name, "__") || builtinScalars[t.Name] {
			continue
		}
		b.WriteString("\n")
		description(&b, "", t.Description)
		switch t.Kind {
		case "SCALAR":
			b.WriteString("scalar " + t.Name + "\n")
		case "OBJECT", "INTERFACE":
			kw := "type "
			if t.Kind == "INTERFACE" {
				kw = "interface "
			}
			b.WriteString(kw + t.Name + implements(t.Interfaces) + " {\n")
			for _, f := range t.Fields {
				description(&b, "  ", f.Description)
				b.WriteString("  " + f.Name + args(f.Args) + ": " + typeRef(f.Type) + deprecated(f.IsDeprecated, f.DeprecationReason) + "\n")
			}
			b.WriteString("}\n")
		case "UNION":
			names := make([]string, len(t.PossibleTypes))
			for i, p := range t.PossibleTypes {
				names[i] = p.Name
			}
			b.WriteString("union " + t.Name + " = " + strings.Join(names, " | ") + "\n")
		case "ENUM":
			b.WriteString("enum " + t.Name + " {\n")
			for _, v := range t.EnumValues {
				description(&b, "  ", v.Description)
				b.WriteString("  " + v.Name + deprecated(v.IsDeprecated, v.DeprecationReason) + "\n")
			}
			b.WriteString("}\n")
		case "INPUT_OBJECT":
			b.WriteString("input " + t.Name + " {\n")
			for _, f := range t.InputFields {
				description(&b, "  ", f.Description)
				b.WriteString("  " + inputValue(f) + "\n")
			}
			b.WriteString("}\n")
		default:
			return "", fmt.Errorf("type %s has unknown kind %q", t.Name, t.Kind)
		}
	}
	return b.String(), nil
}

// description writes a description as a quoted string: JSON's string escapes are GraphQL's.
func description(b *strings.Builder, indent string, d *string) {
	if d == nil || *d == "" {
		return
	}
	q, _ := json.Marshal(*d)
	b.WriteString(indent + string(q) + "\n")
}

func implements(refs []introTypeRef) string {
	if len(refs) == 0 {
		return ""
	}
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = r.Name
	}
	return " implements " + strings.Join(names, " & ")
}

func args(vals []introValue) string {
	if len(vals) == 0 {
		return ""
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = inputValue(v)
		if v.Description != nil && *v.Description != "" {
			q, _ := json.Marshal(*v.Description)
			parts[i] = string(q) + " " + parts[i]
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func inputValue(v introValue) string {
	s := v.Name + ": " + typeRef(v.Type)
	if v.DefaultValue != nil {
		s += " = " + *v.DefaultValue
	}
	return s
}

func typeRef(t introTypeRef) string {
	switch {
	case t.Kind == "NON_NULL" && t.OfType != nil:
		return typeRef(*t.OfType) + "!"
	case t.Kind == "LIST" && t.OfType != nil:
		return "[" + typeRef(*t.OfType) + "]"
	}
	return t.Name
}

func deprecated(is bool, reason *string) string {
	if !is {
		return ""
	}
	if reason == nil || *reason == "" {
		return " @deprecated"
	}
	q, _ := json.Marshal(*reason)
	return " @deprecated(reason: " + string(q) + ")"
}
