package bootstrap_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
)

// TestImportGraphIsComplete validates the graph the import commands build.
func TestImportGraphIsComplete(t *testing.T) {
	for _, url := range []string{"sqlite://./data/ums.db", "postgres://postgres@127.0.0.1:5432/ums"} {
		cfg, err := bootstrap.ParseConfig(map[string]string{"ENV": "test", "DATABASE_URL": url})
		require.NoError(t, err)
		var imp *application.Importer
		require.NoError(t, fx.ValidateApp(fx.Supply(cfg, bootstrap.MigrationPolicy{}, zap.NewNop()),
			bootstrap.CoreModules(cfg), bootstrap.ImportModule, fx.Populate(&imp)))
	}
}
