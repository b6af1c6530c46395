// Package system adapts the real clock and identifier source to their ports.
package system

import (
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/ports"
)

// Clock is the wall clock in UTC, truncated to microseconds so that a value
// read back from either database equals the value written.
type Clock struct{}

var _ ports.Clock = Clock{}

// Now implements ports.Clock.
func (Clock) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// IDs makes UUIDv7 identifiers: random, yet ordered by creation time.
type IDs struct{}

var _ ports.IDGenerator = IDs{}

// NewID implements ports.IDGenerator.
func (IDs) NewID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
