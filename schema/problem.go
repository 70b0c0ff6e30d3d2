package schema

import (
	"fmt"
	"strings"
)

// Position is a place in a configuration or SDL file. Line and Column are 1-based; 0 means unknown.
type Position struct {
	File   string
	Line   int
	Column int
}

func (p Position) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Column == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
	}
}

// Problem is one thing wrong with a configuration: where, which setting, and what to do about it.
type Problem struct {
	Pos Position
	// Path names the setting in dotted form, e.g. "bindings.Customer.orders.batch".
	Path string
	// Message says what is wrong and how to fix it.
	Message string
	// Warning problems are reported but do not stop the configuration from loading.
	Warning bool
	// Unfillable marks a warning about a non-null field that nothing can ever fill: every query of it fails.
	// The server loads anyway (DESIGN.md: a lint), `conflux check` counts it as an error.
	Unfillable bool
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Pos.String())
	b.WriteString(": ")
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ConfigError is a configuration that failed to load. It lists every problem found, errors and warnings, in
// file order.
type ConfigError struct {
	Problems []Problem
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	n := 0
	for _, p := range e.Problems {
		if !p.Warning {
			n++
		}
	}
	fmt.Fprintf(&b, "invalid configuration (%d %s):", n, plural(n, "error", "errors"))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// problems collects the problems of one load. Not safe for concurrent use.
type problems struct {
	list []Problem
}

func (ps *problems) errorf(pos Position, path, format string, args ...any) {
	ps.list = append(ps.list, Problem{Pos: pos, Path: path, Message: fmt.Sprintf(format, args...)})
}

func (ps *problems) warnf(pos Position, path, format string, args ...any) {
	ps.list = append(ps.list, Problem{Pos: pos, Path: path, Message: fmt.Sprintf(format, args...), Warning: true})
}

func (ps *problems) hasErrors() bool {
	for _, p := range ps.list {
		if !p.Warning {
			return true
		}
	}
	return false
}
