package main

import (
	"context"
	"fmt"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// benchPassword is every seeded user's password.
const benchPassword = "correct horse battery staple"

// Seed shape: every user is a member of one organization and a viewer of
// the next, and holds one direct grant there; roles carry global and
// per-organization permissions, so /authorize walks all three tiers.
const (
	seedOrgs        = 50
	seedPermissions = 20
)

// seeded is what the scenarios need to know about the data.
type seeded struct {
	users []seedUser
	orgs  []string
	index map[string]int // user id -> position in users
}

type seedUser struct {
	id, username, org string
}

func permName(i int) string { return fmt.Sprintf("bench.perm%02d", i) }

// seed writes users, organizations, memberships, permissions, role
// permissions and grants straight into the store with COPY. All users share
// one argon2id hash made with the server's parameters, so a login never
// triggers a rehash.
func seed(ctx context.Context, dbURL string, users int, params *argon2id.Params) (*seeded, error) {
	hash, err := argon2id.CreateHash(benchPassword, params)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	now := time.Now().UTC()
	s := &seeded{index: map[string]int{}}

	var orgRows [][]any
	for i := range seedOrgs {
		id := uuid.NewString()
		s.orgs = append(s.orgs, id)
		orgRows = append(orgRows, []any{id, fmt.Sprintf("Bench Org %d", i), fmt.Sprintf("bench-org-%d", i), true, now, now})
	}
	var permRows [][]any
	permIDs := make([]string, seedPermissions)
	for i := range seedPermissions {
		permIDs[i] = uuid.NewString()
		permRows = append(permRows, []any{permIDs[i], permName(i), "load benchmark", "bench", true, now, now})
	}
	var roleRows [][]any
	addRole := func(org any, role string, perms ...int) {
		for _, p := range perms {
			roleRows = append(roleRows, []any{uuid.NewString(), org, role, permIDs[p], now})
		}
	}
	addRole(nil, "admin", 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	addRole(nil, "member", 0, 1, 2, 3, 4)
	addRole(nil, "viewer", 0, 1)
	for _, org := range s.orgs {
		addRole(org, "member", 5, 6)
	}
	var userRows, memberRows, grantRows [][]any
	for i := range users {
		u := seedUser{id: uuid.NewString(), username: fmt.Sprintf("bench%05d", i), org: s.orgs[i%seedOrgs]}
		s.index[u.id] = len(s.users)
		s.users = append(s.users, u)
		userRows = append(userRows, []any{u.id, u.username + "@bench.example", u.username, "Bench", fmt.Sprint(i),
			true, false, true, hash, now, false, 0, false, now, now})
		role := "member"
		if i < seedOrgs {
			role = "admin"
		}
		memberRows = append(memberRows, []any{u.org, u.id, role, now, now},
			[]any{s.orgs[(i+1)%seedOrgs], u.id, "viewer", now, now})
		grantRows = append(grantRows, []any{uuid.NewString(), u.org, u.id, permIDs[10+i%10], true, nil, now})
	}

	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"organizations", []string{"id", "name", "slug", "is_active", "created_at", "updated_at"}, orgRows},
		{"permissions", []string{"id", "name", "description", "category", "is_active", "created_at", "updated_at"}, permRows},
		{"role_permissions", []string{"id", "org_id", "role", "permission_id", "created_at"}, roleRows},
		{"users", []string{"id", "email", "username", "first_name", "last_name", "is_active", "is_system_admin",
			"email_verified", "password_hash", "password_changed_at", "must_change_password", "failed_login_count",
			"mfa_enabled", "created_at", "updated_at"}, userRows},
		{"memberships", []string{"org_id", "user_id", "role", "created_at", "updated_at"}, memberRows},
		{"grants", []string{"id", "org_id", "user_id", "permission_id", "is_active", "expires_at", "created_at"}, grantRows},
	} {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			return nil, fmt.Errorf("seed %s: %w", c.table, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		return nil, err
	}
	return s, nil
}
