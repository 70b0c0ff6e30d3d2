package main

//go:generate go run github.com/99designs/gqlgen generate

// Resolver is the root of the generated resolvers. Its backend is shared by every request; the loaders are
// per request (loaders.go). Safe for concurrent use.
type Resolver struct {
	backend *backend
}
