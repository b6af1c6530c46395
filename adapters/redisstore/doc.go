// Package redisstore holds the adapters that share state between
// instances through Redis: the login throttle and the revocation bus.
package redisstore
