// Package application holds the use cases of UMS, one service per capability.
// A use case takes a context and plain inputs, applies domain rules through
// the ports, and returns domain values or domain errors. It knows no HTTP, SQL
// or logging framework.
package application
