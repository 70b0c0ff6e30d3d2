package schema

// ValueKind says what a Value holds.
type ValueKind int

// The kinds of Value.
const (
	ValueNull ValueKind = iota
	// ValueScalar is a string, bool, int64 or float64 from the YAML file.
	ValueScalar
	// ValueTemplate is a string with {{…}} variables. A template that is exactly one variable inserts the
	// variable's JSON value; any other template renders to a string.
	ValueTemplate
	ValueList
	ValueObject
)

// Value is a YAML value that may hold templates: a request body, GraphQL arguments or a static value. It is
// compiled at load, immutable, and safe for concurrent use.
type Value struct {
	Kind     ValueKind
	Scalar   any
	Template *Template
	List     []*Value
	// Fields keeps the object's keys in file order.
	Fields []ValueField
	Pos    Position
}

// ValueField is one key of an object Value.
type ValueField struct {
	Name  string
	Value *Value
}

// Vars returns every template variable inside v.
func (v *Value) Vars() []Var {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case ValueTemplate:
		return v.Template.Vars()
	case ValueList:
		var out []Var
		for _, e := range v.List {
			out = append(out, e.Vars()...)
		}
		return out
	case ValueObject:
		var out []Var
		for _, f := range v.Fields {
			out = append(out, f.Value.Vars()...)
		}
		return out
	}
	return nil
}

// Templates returns every template inside v with its position, for validation.
func (v *Value) Templates() []*Template {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case ValueTemplate:
		return []*Template{v.Template}
	case ValueList:
		var out []*Template
		for _, e := range v.List {
			out = append(out, e.Templates()...)
		}
		return out
	case ValueObject:
		var out []*Template
		for _, f := range v.Fields {
			out = append(out, f.Value.Templates()...)
		}
		return out
	}
	return nil
}
