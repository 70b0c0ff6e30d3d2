package loyalty

// Resolver is the root of the generated resolvers. It is stateless, so safe for concurrent use.
type Resolver struct{}
