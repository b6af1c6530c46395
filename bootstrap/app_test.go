package bootstrap_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/ums-project/ums/bootstrap"
)

// TestAppGraphIsComplete validates the fx graph of every supported
// combination without opening a database.
func TestAppGraphIsComplete(t *testing.T) {
	for name, vars := range map[string]map[string]string{
		"sqlite":         {"DATABASE_URL": "sqlite://./data/ums.db"},
		"postgres":       {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/ums"},
		"postgres+redis": {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/ums", "REDIS_URL": "redis://127.0.0.1:6379/0"},
		"legacy api": {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/ums", "LEGACY_API": "true",
			"LEGACY_JWT_SECRET": "an old service's real secret"},
	} {
		t.Run(name, func(t *testing.T) {
			vars["ENV"] = "test"
			cfg, err := bootstrap.ParseConfig(vars)
			require.NoError(t, err)
			for _, withHTTP := range []bool{true, false} {
				opts := []fx.Option{
					fx.Supply(cfg, bootstrap.MigrationPolicy{}, zap.NewNop()),
					bootstrap.CoreModules(cfg),
				}
				if withHTTP {
					opts = append(opts, bootstrap.HTTPModule, bootstrap.ServerJobsModule)
					if cfg.LegacyAPI {
						opts = append(opts, bootstrap.LegacyModule)
					}
				}
				require.NoError(t, fx.ValidateApp(opts...))
			}
		})
	}
}
