// Package http is the driving adapter: Echo routes, strict JSON binding,
// middleware, the one place where errors become RFC 9457 problems, and the
// OpenAPI document with its offline docs page.
package http
