package sqlstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMySQLSourceURLs(t *testing.T) {
	for _, tc := range []struct {
		dsn, user, pass, net, addr, db string
	}{
		{"mysql://flask:s3cret@db.example.com:3307/lhums", "flask", "s3cret", "tcp", "db.example.com:3307", "lhums"},
		{"mysql://root@127.0.0.1/lhums", "root", "", "tcp", "127.0.0.1:3306", "lhums"},
		{"mariadb://u:p%40ss@host/db", "u", "p@ss", "tcp", "host:3306", "db"},
		{"mysql://u@/db?unix_socket=/run/mysqld/mysqld.sock", "u", "", "unix", "/run/mysqld/mysqld.sock", "db"},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			cfg, err := mysqlConfig(tc.dsn)
			require.NoError(t, err)
			assert.Equal(t, tc.user, cfg.User)
			assert.Equal(t, tc.pass, cfg.Passwd)
			assert.Equal(t, tc.net, cfg.Net)
			assert.Equal(t, tc.addr, cfg.Addr)
			assert.Equal(t, tc.db, cfg.DBName)
			assert.True(t, cfg.ParseTime, "DATETIME columns come back as times")
			assert.Equal(t, time.UTC, cfg.Loc, "the old service wrote naive UTC")
		})
	}
	_, err := mysqlConfig("mysql://")
	assert.Error(t, err)
}

func TestFlaskBooleansReadNullAsTheirDefault(t *testing.T) {
	v := &vals{raw: []any{nil, nil, int64(0), "1", []byte("false")}, cols: []string{"a", "b", "c", "d", "e"}}
	assert.True(t, v.boolOr(0, true))
	assert.False(t, v.boolOr(1, false))
	assert.False(t, v.boolOr(2, true), "MySQL's tinyint 0")
	assert.True(t, v.boolOr(3, false), "SQLite's text 1")
	assert.False(t, v.boolOr(4, true))
	assert.NoError(t, v.err)
}
