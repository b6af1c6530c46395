// Package legacyapi is a driving adapter that answers the old Flask
// service's API (../shared/ref/lhums-api.md) with UMS's application
// services and its one Policy: the same routes under /api/, integer ids,
// the old JSON shapes and error families, and the old tokens honoured
// through the cutover. It holds no rule of its own beyond translation;
// every deliberate difference from the old service is documented in the
// README's migration section.
package legacyapi
