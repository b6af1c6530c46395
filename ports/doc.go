// Package ports declares what the application needs from the outside world.
// Each interface is small and named for its role; adapters implement them and
// assert so at compile time. Each method documents the domain errors it
// returns; any other error is an infrastructure failure.
package ports
