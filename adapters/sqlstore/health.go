package sqlstore

import (
	"context"

	"github.com/ums-project/ums/ports"
)

// HealthCheck pings the database for the readiness probe.
type HealthCheck struct{ db *DB }

var _ ports.HealthCheck = (*HealthCheck)(nil)

// NewHealthCheck returns the database readiness check.
func NewHealthCheck(db *DB) *HealthCheck { return &HealthCheck{db: db} }

// Name implements ports.HealthCheck.
func (h *HealthCheck) Name() string { return "database" }

// Check implements ports.HealthCheck.
func (h *HealthCheck) Check(ctx context.Context) error {
	var one int
	return dbError("ping database", h.db.NewRaw("SELECT 1").Scan(ctx, &one))
}
