package main

// Resolver is the root of the generated resolvers. Its backends are shared by every request; the loaders are
// per request (loaders.go). Safe for concurrent use.
type Resolver struct {
	backends *backends
}
