//go:build tools

// Build-time tool imports: the gqlgen code generator for the admin API (see gqlgen.yml).
package main

import (
	_ "github.com/99designs/gqlgen"
)
