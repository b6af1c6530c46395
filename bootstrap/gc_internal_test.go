package bootstrap

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGCSettingsFollowTheHashPoolAndLeaveTheOperatorsAlone(t *testing.T) {
	c := Config{HashConcurrency: 4, Argon2MemoryKiB: 19456}
	percent, limit := gcSettings(c, false, false)
	assert.Equal(t, serverGCPercent, percent)
	assert.Equal(t, int64(128<<20+3*4*19456<<10), limit, "base heap plus three rounds of the pool's memory")

	percent, limit = gcSettings(c, true, true)
	assert.Zero(t, percent, "GOGC set: left alone")
	assert.Zero(t, limit, "GOMEMLIMIT set: left alone")
}
