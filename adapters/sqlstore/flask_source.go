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

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ums-project/ums/ports"
)

// FlaskSource reads the database of the old Flask service (SQLAlchemy
// models users, labs, lab_memberships, attributes, role_attributes,
// user_lab_attributes, audit_logs, and the token tables it only counts) on
// SQLite, Postgres or MySQL/MariaDB, read-only.
type FlaskSource struct {
	db      *sql.DB
	dialect Dialect
}

// mysqlSource is the dialect of a MySQL or MariaDB source; UMS itself
// never stores in MySQL.
const mysqlSource Dialect = "mysql"

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
	var (
		d   Dialect
		err error
		db  *sql.DB
	)
	if strings.HasPrefix(dsn, "mysql:") || strings.HasPrefix(dsn, "mariadb:") {
		d = mysqlSource
	} else if d, err = DialectOf(dsn); err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	switch d {
	case mysqlSource:
		cfg, err := mysqlConfig(dsn)
		if err != nil {
			return nil, err
		}
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, errors.New("source: invalid mysql connection string")
		}
		db = sql.OpenDB(conn)
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

// mysqlConfig turns mysql://user:pass@host:port/db (or SQLAlchemy's
// mysql+pymysql://…, or mariadb://…) into the driver's configuration.
// Times are read as UTC, as the old service wrote them; unix_socket and
// tls (the driver's values: true, skip-verify, preferred) are honoured.
func mysqlConfig(dsn string) (*mysql.Config, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" && u.Query().Get("unix_socket") == "" {
		return nil, errors.New("source: invalid mysql connection string (mysql://user:password@host:3306/database)")
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	cfg.ParseTime, cfg.Loc = true, time.UTC
	cfg.Net, cfg.Addr = "tcp", u.Host
	if u.Port() == "" && u.Host != "" {
		cfg.Addr = u.Host + ":3306"
	}
	if sock := u.Query().Get("unix_socket"); sock != "" {
		cfg.Net, cfg.Addr = "unix", sock
	}
	if tls := u.Query().Get("tls"); tls != "" {
		cfg.TLSConfig = tls
	}
	cfg.Timeout = 10 * time.Second
	return cfg, nil
}

// Close closes the connection.
func (s *FlaskSource) Close() error { return s.db.Close() }

// Snapshot implements ports.FlaskSource in one read-only transaction, so
// the tables agree with each other even while the old service still runs.
func (s *FlaskSource) Snapshot(ctx context.Context) (ports.FlaskSnapshot, error) {
	opts := &sql.TxOptions{}
	if s.dialect != SQLite {
		// One snapshot for every table: Postgres and InnoDB give a
		// repeatable-read transaction a consistent view.
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
		readFlaskRoleAttributes, readFlaskUserAttributes, readFlaskAuditLogs, readFlaskPendingLinks,
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
	return scanTable(ctx, tx, "users", []string{"id", "username", "email", "password_hash", "first_name", "last_name",
		"is_active", "is_admin", "email_verified", "locked_until", "failed_login_attempts", "last_login_at",
		"password_changed_at", "password_expires_at", "password_history", "require_password_change",
		"two_factor_enabled", "two_factor_secret", "created_at", "updated_at"}, func(v *vals) {
		s.Users = append(s.Users, ports.FlaskUser{ID: v.int(0), Username: v.str(1), Email: v.str(2),
			PasswordHash: v.str(3), FirstName: v.str(4), LastName: v.str(5), IsActive: v.boolOr(6, true),
			IsAdmin: v.boolOr(7, false), EmailVerified: v.boolOr(8, false), LockedUntil: v.time(9),
			FailedLoginAttempts: int(v.int(10)), LastLoginAt: v.time(11), PasswordChangedAt: v.time(12),
			PasswordExpiresAt: v.time(13), PasswordHistory: v.str(14), RequirePasswordChange: v.boolOr(15, false),
			TwoFactorEnabled: v.boolOr(16, false), TwoFactorSecret: v.str(17), CreatedAt: v.time(18), UpdatedAt: v.time(19)})
	})
}

func readFlaskLabs(ctx context.Context, tx *sql.Tx, s *ports.FlaskSnapshot) error {
	return scanTable(ctx, tx, "labs", []string{"id", "name", "code", "description", "is_active", "created_at", "updated_at"},
		func(v *vals) {
			s.Labs = append(s.Labs, ports.FlaskLab{ID: v.int(0), Name: v.str(1), Code: v.str(2), Description: v.str(3),
				IsActive: v.boolOr(4, true), CreatedAt: v.time(5), UpdatedAt: v.time(6)})
		})
}

func readFlaskMemberships(ctx context.Context, tx *sql.Tx, s *ports.FlaskSnapshot) error {
	return scanTable(ctx, tx, "lab_memberships", []string{"id", "user_id", "lab_id", "role", "is_active", "joined_at"},
		func(v *vals) {
			s.Memberships = append(s.Memberships, ports.FlaskMembership{ID: v.int(0), UserID: v.int(1), LabID: v.int(2),
				Role: v.str(3), IsActive: v.boolOr(4, true), JoinedAt: v.time(5)})
		})
}

func readFlaskAttributes(ctx context.Context, tx *sql.Tx, s *ports.FlaskSnapshot) error {
	return scanTable(ctx, tx, "attributes", []string{"id", "name", "description", "category", "is_active", "created_at"},
		func(v *vals) {
			s.Attributes = append(s.Attributes, ports.FlaskAttribute{ID: v.int(0), Name: v.str(1), Description: v.str(2),
				Category: v.str(3), IsActive: v.boolOr(4, true), CreatedAt: v.time(5)})
		})
}

func readFlaskRoleAttributes(ctx context.Context, tx *sql.Tx, s *ports.FlaskSnapshot) error {
	return scanTable(ctx, tx, "role_attributes", []string{"id", "role_name", "attribute_id", "lab_id", "granted_by", "granted_at"},
		func(v *vals) {
			s.RoleAttributes = append(s.RoleAttributes, ports.FlaskRoleAttribute{ID: v.int(0), Role: v.str(1),
				AttributeID: v.int(2), LabID: v.nullInt(3), GrantedBy: v.nullInt(4), GrantedAt: v.time(5)})
		})
}

func readFlaskUserAttributes(ctx context.Context, tx *sql.Tx, s *ports.FlaskSnapshot) error {
	return scanTable(ctx, tx, "user_lab_attributes", []string{"id", "user_id", "lab_id", "attribute_id", "granted_by",
		"granted_at", "expires_at", "is_active"}, func(v *vals) {
		s.UserAttributes = append(s.UserAttributes, ports.FlaskUserAttribute{ID: v.int(0), UserID: v.int(1), LabID: v.int(2),
			AttributeID: v.int(3), GrantedBy: v.nullInt(4), GrantedAt: v.time(5), ExpiresAt: v.time(6), IsActive: v.boolOr(7, true)})
	})
}

func readFlaskAuditLogs(ctx context.Context, tx *sql.Tx, s *ports.FlaskSnapshot) error {
	return scanTable(ctx, tx, "audit_logs", []string{"id", "user_id", "action", "resource_type", "resource_id", "details",
		"ip_address", "user_agent", "success", "created_at"}, func(v *vals) {
		s.AuditLogs = append(s.AuditLogs, ports.FlaskAuditLog{ID: v.int(0), UserID: v.nullInt(1), Action: v.str(2),
			ResourceType: v.str(3), ResourceID: v.nullInt(4), Details: v.str(5), IP: v.str(6), UserAgent: v.str(7),
			Success: v.boolOr(8, true), CreatedAt: v.time(9)})
	})
}

// readFlaskPendingLinks counts the reset and verification links still
// usable in the old service: they are not carried over.
func readFlaskPendingLinks(ctx context.Context, tx *sql.Tx, s *ports.FlaskSnapshot) error {
	now := time.Now()
	for table, n := range map[string]*int{"password_reset_tokens": &s.PendingResetLinks,
		"email_verification_tokens": &s.PendingVerificationLinks} {
		err := scanTable(ctx, tx, table, []string{"id", "expires_at", "used"}, func(v *vals) {
			if exp := v.time(1); !v.boolOr(2, false) && exp != nil && exp.After(now) {
				*n++
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
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

// boolOr reads a boolean; NULL is def, the column's Python-side default in
// the old models.
func (v *vals) boolOr(i int, def bool) bool {
	switch x := v.raw[i].(type) {
	case nil:
		return def
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
