package http

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/ums-project/ums/ports"
)

type healthHandlers struct {
	checks []ports.HealthCheck
	log    *zap.Logger
}

// healthz answers while the process runs; it checks nothing else so an
// orchestrator never restarts us for a database outage.
func (h *healthHandlers) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz asks every dependency at once, each bounded by a timeout.
func (h *healthHandlers) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	results := make(map[string]any, len(h.checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	failed := false
	for _, chk := range h.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := chk.Check(ctx)
			mu.Lock()
			defer mu.Unlock()
			if oc, ok := chk.(ports.OptionalCheck); ok && err != nil && oc.Optional() {
				results[chk.Name()] = "degraded"
				h.log.Warn("optional dependency degraded", zap.String("check", chk.Name()), zap.Error(err))
				return
			}
			if err != nil {
				failed = true
				results[chk.Name()] = "down"
				h.log.Warn("readiness check failed", zap.String("check", chk.Name()), zap.Error(err))
				return
			}
			results[chk.Name()] = "ok"
		}()
	}
	wg.Wait()
	if failed {
		c.Response().Header().Set("Retry-After", "5")
		writeProblem(c, Problem{Status: http.StatusServiceUnavailable, Code: "not_ready",
			Detail: "a dependency is unavailable", RequestID: requestID(c), Checks: results})
		return nil
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ok", "checks": results})
}
