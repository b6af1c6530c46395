// Package domain holds the entities, value objects, policies and typed errors
// of UMS. It imports nothing but the standard library and uuid, so every rule
// here is testable without a database, a network or a framework.
package domain
