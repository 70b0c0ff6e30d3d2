// Package fleet is what several Conflux replicas share through Redis (issue 15): a Client, built from the
// `redis:` configuration (or CONFLUX_REDIS_URL), that names every key under the configured prefix and knows
// whether Redis answers. Redis being slow or gone never fails a client request: callers ask Healthy, give every
// Redis call a short deadline, and fall back to what the process has on its own.
//
// A Client is safe for concurrent use. It owns one goroutine (the health probe), which Close stops.
package fleet
