// Package runtime owns the version lifecycle of a Conflux server: it builds a Version from a loaded
// configuration (schema.Supergraph) — its sources, resolvers, planning and executing engine and GraphQL HTTP
// handler — serves the running one through an atomic pointer, and applies changes without a restart.
//
// A change (a file edit seen by Watch, a Write from the admin API, a Rollback to a kept version) is loaded and
// validated like the file at startup, built into a new Version beside the running one, and swapped in: requests in
// flight finish on the version they started on, and the old version is drained (its idle connections closed,
// its probes stopped) at once. A change that fails validation or building leaves the running version in force and
// is kept as the last error. Sources whose configuration did not change are carried over to the new version with
// their breakers, endpoint health, limits and connections.
//
// With Config.Versions (issue 15, cluster.go) the versions are shared with the other replicas through Redis:
// every change is published as the cluster's newest version (compare-and-set on its number) and Sync applies
// the versions other replicas publish. The rules on conflicts and outages are on the cluster type.
//
// The package knows nothing of HTTP listeners, flags or commands: the caller (package main) supplies how a
// version serves GraphQL over HTTP (Config.Handler), the options of every load, and a logger.
package runtime
