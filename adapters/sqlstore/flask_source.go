package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ums-project/ums/ports"
)

// FlaskSource reads the database of the old Flask service (SQLAlchemy
// models users, labs, lab_memberships, attributes, role_attributes,
// user_lab_attributes, audit_logs) on SQLite or Postgres, read-only.
type FlaskSource struct {
	db      *sql.DB
	dialect Dialect
}

var _ ports.FlaskSource = (*FlaskSource)(nil)

// OpenFlaskSource connects to the old database. dsn is postgres://… (or
// SQLAlchemy's postgresql+driver://…) or sqlite://PATH as in DATABASE_URL;
// a SQLite file is opened read-only and must exist.
func OpenFlaskSource(ctx context.Context, dsn string) (*FlaskSource, error) {
	if scheme, rest, ok := strings.Cut(dsn, "://"); ok {
		if base, _, hasDriver := strings.Cut(scheme, "+"); hasDriver {
			dsn = base + "://" + rest
		}
	}
	if strings.HasPrefix(dsn, "mysql:") || strings.HasPrefix(dsn, "mariadb:") {
		return nil, errors.New("MySQL sources are not supported: copy the database to SQLite or Postgres first")
	}
	d, err := DialectOf(dsn)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	var db *sql.DB
	switch d {
	case Postgres:
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, errors.New("source: invalid postgres connection string")
		}
		db = stdlib.OpenDB(*cfg)
	case SQLite:
		path := SQLitePath(dsn)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
		q := url.Values{}
		q.Set("mode", "ro")
		q.Add("_pragma", "busy_timeout(10000)")
		if db, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode()); err != nil {
			return nil, fmt.Errorf("source: open sqlite: %w", err)
		}
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		_ = db.Close()
		return nil, dbErrorSanitized("source: connect to "+string(d), err)
	}
	return &FlaskSource{db: db, dialect: d}, nil
}

// Close closes the connection.
func (s *FlaskSource) Close() error { return s.db.Close() }

// Snapshot implements ports.FlaskSource in one read-only transaction, so
// the tables agree with each other even while the old service still runs.
func (s *FlaskSource) Snapshot(ctx context.Context) (ports.FlaskSnapshot, error) {
	opts := &sql.TxOptions{}
	if s.dialect == Postgres {
		opts = &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return ports.FlaskSnapshot{}, dbError("begin", err)
	}
	defer func() { _ = tx.Rollback() }()
	var snap ports.FlaskSnapshot
	for _, read := range []func(context.Context, *sql.Tx, *ports.FlaskSnapshot) error{
		readFlaskUsers, readFlaskLabs, readFlaskMemberships, readFlaskAttributes,
		readFlaskRoleAttributes, readFlaskUserAttributes, readFlaskAuditLogs,
	} {
		if err := read(ctx, tx, &snap); err != nil {
			return ports.FlaskSnapshot{}, err
		}
	}
	return snap, nil
}

// scanTable runs SELECT cols FROM table ORDER BY id and hands each row's
// values to fn through a converter that records the first bad value.
func scanTable(ctx context.Context, tx *sql.Tx, table string, cols []string, fn func(v *vals)) error {
	rows, err := tx.QueryContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+table+" ORDER BY id")
	if err != nil {
		return dbError("read table "+table+" (columns "+strings.Join(cols, ", ")+")", err)
	}
	defer rows.Close()
	raw := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return dbError("read table "+table, err)
		}
		v := &vals{raw: raw, cols: cols}
		fn(v)
		if v.err != nil {
			return fmt.Errorf("read table %s: %w", table, v.err)
		}
	}
	if err := rows.Err(); err != nil {
		return dbError("read table "+table, err)
	}
	return nil
}

func readFlaskUsers(ctx context.Context, tx *sql.Tx, s *ports.FlaskSnapshot) error {
	return scanTable(ctx, tx, "users", []string{"id", "email", "username", "first_name", "last_name", "password_hash",
		"is_active", "is_admin", "email_verified", "failed_login_attempts", "locked_until", "password_changed_at",
		"must_change_password", "created_at", "updated_at"}, func(v *vals) {
		s.Users = append(s.Users, ports.FlaskUser{ID: v.int(0), Email: v.str(1), Username: v.str(2),
			FirstName: v.str(3), LastName: v.str(4), PasswordHash: v.str(5), IsActive: v.bool(6), IsAdmin: v.bool(7),
			EmailVerified: v.bool(8), FailedLoginAttempts: int(v.int(9)), LockedUntil: v.time(10),
			PasswordChangedAt: v.time(11), MustChangePassword: v.bool(12), CreatedAt: v.time(13), UpdatedAt: v.time(14)})
	})
}

func readFlaskLabs(ctx context.Context, tx *sql.Tx, s *ports.FlaskSnapshot) error {
	return scanTable(ctx, tx, "labs", []string{"id", "name", "code", "description", "is_active", "created_at"}, func(v *vals) {
		s.Labs = append(s.Labs, ports.FlaskLab{ID: v.int(0), Name: v.str(1), Code: v.str(2), Description: v.str(3),
			IsActive: v.bool(4), CreatedAt: v.time(5)})
	})
}

func readFlaskMemberships(ctx context.Context, tx *sql.Tx, s *ports.FlaskSnapshot) error {
	return scanTable(ctx, tx, "lab_memberships", []string{"id", "user_id", "lab_id", "role"}, func(v *vals) {
		s.Memberships = append(s.Memberships, ports.FlaskMembership{ID: v.int(0), UserID: v.int(1), LabID: v.int(2), Role: v.str(3)})
	})
}

func readFlaskAttributes(ctx context.Context, tx *sql.Tx, s *ports.FlaskSnapshot) error {
	return scanTable(ctx, tx, "attributes", []string{"id", "name", "description", "category", "is_active"}, func(v *vals) {
		s.Attributes = append(s.Attributes, ports.FlaskAttribute{ID: v.int(0), Name: v.str(1), Description: v.str(2),
			Category: v.str(3), IsActive: v.bool(4)})
	})
}

func readFlaskRoleAttributes(ctx context.Context, tx *sql.Tx, s *ports.FlaskSnapshot) error {
	return scanTable(ctx, tx, "role_attributes", []string{"id", "role", "attribute_id", "lab_id"}, func(v *vals) {
		s.RoleAttributes = append(s.RoleAttributes, ports.FlaskRoleAttribute{ID: v.int(0), Role: v.str(1),
			AttributeID: v.int(2), LabID: v.nullInt(3)})
	})
}

func readFlaskUserAttributes(ctx context.Context, tx *sql.Tx, s *ports.FlaskSnapshot) error {
	return scanTable(ctx, tx, "user_lab_attributes", []string{"id", "user_id", "lab_id", "attribute_id", "expires_at",
		"is_active", "granted_by"}, func(v *vals) {
		s.UserAttributes = append(s.UserAttributes, ports.FlaskUserAttribute{ID: v.int(0), UserID: v.int(1), LabID: v.int(2),
			AttributeID: v.int(3), ExpiresAt: v.time(4), IsActive: v.bool(5), GrantedBy: v.nullInt(6)})
	})
}

func readFlaskAuditLogs(ctx context.Context, tx *sql.Tx, s *ports.FlaskSnapshot) error {
	return scanTable(ctx, tx, "audit_logs", []string{"id", "user_id", "action", "target", "lab_id", "ip", "user_agent",
		"created_at", "details"}, func(v *vals) {
		s.AuditLogs = append(s.AuditLogs, ports.FlaskAuditLog{ID: v.int(0), UserID: v.nullInt(1), Action: v.str(2),
			Target: v.str(3), LabID: v.nullInt(4), IP: v.str(5), UserAgent: v.str(6), CreatedAt: v.time(7), Details: v.str(8)})
	})
}

// vals converts one row's driver values, whatever types SQLite (which
// keeps booleans as integers and times as text) or Postgres returned.
type vals struct {
	raw  []any
	cols []string
	err  error
}

func (v *vals) fail(i int, what string) {
	if v.err == nil {
		v.err = fmt.Errorf("column %s: %s %v is not %s", v.cols[i], "value", v.raw[i], what)
	}
}

func (v *vals) str(i int) string {
	switch x := v.raw[i].(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	default:
		return fmt.Sprint(x)
	}
}

func (v *vals) nullInt(i int) *int64 {
	if v.raw[i] == nil {
		return nil
	}
	n := v.int(i)
	return &n
}

func (v *vals) int(i int) int64 {
	switch x := v.raw[i].(type) {
	case nil:
		return 0
	case int64:
		return x
	case int32:
		return int64(x)
	case float64:
		return int64(x)
	case bool:
		if x {
			return 1
		}
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v.str(i)), 10, 64)
	if err != nil {
		v.fail(i, "an integer")
	}
	return n
}

func (v *vals) bool(i int) bool {
	switch x := v.raw[i].(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	}
	switch strings.ToLower(strings.TrimSpace(v.str(i))) {
	case "1", "t", "true", "y", "yes":
		return true
	case "0", "f", "false", "n", "no", "":
		return false
	}
	v.fail(i, "a boolean")
	return false
}

// sqlTimeLayouts are the forms SQLAlchemy and SQLite write; a time without
// a zone is UTC, as SQLAlchemy's naive datetimes were.
var sqlTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02",
}

func (v *vals) time(i int) *time.Time {
	switch x := v.raw[i].(type) {
	case nil:
		return nil
	case time.Time:
		t := x.UTC()
		return &t
	}
	s := strings.TrimSpace(v.str(i))
	if s == "" {
		return nil
	}
	for _, layout := range sqlTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return &t
		}
	}
	v.fail(i, "a timestamp")
	return nil
}
