// Package crypto holds the cryptographic adapters: the argon2id password
// hasher with its bounded worker pool, and (in later issues) token signing
// and the secret box for data encrypted at rest.
package crypto
