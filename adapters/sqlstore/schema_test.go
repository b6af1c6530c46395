package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/sqlstore"
)

// TestEveryForeignKeyHasAnIndex: deleting or updating a referenced row
// (erasing a user, deleting a permission or an organization) looks up
// every referencing row; a foreign key whose columns do not lead an index
// makes that a scan of the whole table, under the delete's locks.
func TestEveryForeignKeyHasAnIndex(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			db := openMigrated(t, url(t))
			keys, indexes := schemaKeys(t, db)
			require.NotEmpty(t, keys)
			var missing []string
			for _, fk := range keys {
				if !slices.ContainsFunc(indexes[fk.table], func(cols []string) bool { return leads(cols, fk.cols) }) {
					missing = append(missing, fmt.Sprintf("%s (%s)", fk.table, strings.Join(fk.cols, ", ")))
				}
			}
			assert.Empty(t, missing, "foreign keys without an index leading with their columns")
		})
	}
}

type foreignKey struct {
	table string
	cols  []string
}

// leads reports whether the first len(fk) columns of an index are fk's,
// in any order.
func leads(index, fk []string) bool {
	if len(index) < len(fk) {
		return false
	}
	for _, c := range index[:len(fk)] {
		if !slices.Contains(fk, c) {
			return false
		}
	}
	return true
}

// schemaKeys reads the foreign keys and, per table, the column lists of
// its indexes (an expression column as "").
func schemaKeys(t *testing.T, db *sqlstore.DB) ([]foreignKey, map[string][][]string) {
	t.Helper()
	ctx := context.Background()
	type keyCol struct {
		Table string `bun:"tbl"`
		Key   string `bun:"key"`
		Col   string `bun:"col"`
	}
	type indexCol struct {
		Table string `bun:"tbl"`
		Index string `bun:"idx"`
		Col   string `bun:"col"`
	}
	var kcs []keyCol
	var ics []indexCol
	if db.Dialect == sqlstore.Postgres {
		require.NoError(t, db.NewRaw(`
SELECT c.conrelid::regclass::text AS tbl, c.conname AS key, a.attname AS col
FROM pg_constraint c
CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
ORDER BY 1, 2, k.n`).Scan(ctx, &kcs))
		require.NoError(t, db.NewRaw(`
SELECT i.indrelid::regclass::text AS tbl, i.indexrelid::regclass::text AS idx, coalesce(a.attname, '') AS col
FROM pg_index i
JOIN pg_class r ON r.oid = i.indrelid AND r.relnamespace = current_schema()::regnamespace
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
ORDER BY 1, 2, k.n`).Scan(ctx, &ics))
	} else {
		require.NoError(t, db.NewRaw(`
SELECT m.name AS tbl, CAST(f.id AS TEXT) AS key, f."from" AS col
FROM sqlite_master AS m JOIN pragma_foreign_key_list(m.name) AS f
WHERE m.type = 'table'
ORDER BY 1, f.id, f.seq`).Scan(ctx, &kcs))
		require.NoError(t, db.NewRaw(`
SELECT m.name AS tbl, il.name AS idx, coalesce(ii.name, '') AS col
FROM sqlite_master AS m JOIN pragma_index_list(m.name) AS il JOIN pragma_index_info(il.name) AS ii
WHERE m.type = 'table'
ORDER BY 1, 2, ii.seqno`).Scan(ctx, &ics))
	}
	var keys []foreignKey
	for i, kc := range kcs {
		if i == 0 || kc.Table != kcs[i-1].Table || kc.Key != kcs[i-1].Key {
			keys = append(keys, foreignKey{table: kc.Table})
		}
		keys[len(keys)-1].cols = append(keys[len(keys)-1].cols, kc.Col)
	}
	indexes := map[string][][]string{}
	for i, ic := range ics {
		if i == 0 || ic.Table != ics[i-1].Table || ic.Index != ics[i-1].Index {
			indexes[ic.Table] = append(indexes[ic.Table], nil)
		}
		last := len(indexes[ic.Table]) - 1
		indexes[ic.Table][last] = append(indexes[ic.Table][last], ic.Col)
	}
	return keys, indexes
}
