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
	for name, url := range map[string]string{
		"sqlite":   "sqlite://./data/ums.db",
		"postgres": "postgres://postgres@127.0.0.1:5432/ums",
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := bootstrap.ParseConfig(map[string]string{"DATABASE_URL": url, "ENV": "test"})
			require.NoError(t, err)
			for _, withHTTP := range []bool{true, false} {
				opts := []fx.Option{
					fx.Supply(cfg, bootstrap.MigrationPolicy{}, zap.NewNop()),
					bootstrap.CoreModules(),
				}
				if withHTTP {
					opts = append(opts, bootstrap.HTTPModule)
				}
				require.NoError(t, fx.ValidateApp(opts...))
			}
		})
	}
}
