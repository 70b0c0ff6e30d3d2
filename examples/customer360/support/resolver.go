package support

// Resolver is the root of the generated resolvers; it holds the ticket store. Safe for concurrent use.
type Resolver struct {
	store *store
}
