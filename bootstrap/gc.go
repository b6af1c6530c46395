package bootstrap

import (
	"os"
	"runtime/debug"

	"go.uber.org/fx"
	"go.uber.org/zap"
)

// serverGCPercent is the server's GC target unless GOGC is set. Most of
// what a busy UMS allocates is argon2id's working memory (19 MiB per hash
// by default), pointer-free and dead as soon as the hash is done; at Go's
// default of 100 nearly every hash starts a collection, whose mark worker
// takes a core from the hashes in flight and doubled the p99 of logins.
const serverGCPercent = 400

// serverMemoryBase is the heap the server needs besides the hashes in
// flight: caches, buffers, connections.
const serverMemoryBase = 128 << 20

// GCModule tunes the collector for the server (not the CLI) unless the
// operator set GOGC or GOMEMLIMIT: a higher GC target, bounded by a soft
// memory limit of the base heap plus three rounds of the hash pool's
// working memory, so memory stays proportional to what hashing can hold.
var GCModule = fx.Invoke(func(c Config, log *zap.Logger) {
	percent, limit := gcSettings(c, os.Getenv("GOGC") != "", os.Getenv("GOMEMLIMIT") != "")
	if percent > 0 {
		debug.SetGCPercent(percent)
	}
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	// SetMemoryLimit with a negative value only reads it.
	log.Info("garbage collector", zap.Int("gc_percent", percent), zap.Bool("gogc_from_environment", percent == 0),
		zap.Int64("memory_limit_bytes", debug.SetMemoryLimit(-1)))
})

// gcSettings returns the GC percent and memory limit to set; 0 leaves the
// runtime's (the environment's) value alone.
func gcSettings(c Config, gogcSet, memLimitSet bool) (percent int, limit int64) {
	if !gogcSet {
		percent = serverGCPercent
	}
	if !memLimitSet {
		limit = serverMemoryBase + 3*int64(c.HashConcurrency)*int64(c.Argon2MemoryKiB)<<10
	}
	return percent, limit
}
