package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/test/dbtest"
	"github.com/ums-project/ums/test/flask"
)

// flaskUser is one old account as make_fixture.py describes it.
type flaskUser struct {
	ID                 int64    `json:"id"`
	Email              string   `json:"email"`
	Username           string   `json:"username"`
	UMSUsername        *string  `json:"ums_username"`
	Password           string   `json:"password"`
	Hash               string   `json:"hash"`
	Active             bool     `json:"active"`
	Admin              bool     `json:"admin"`
	MustChangePassword bool     `json:"must_change_password"`
	Expired            bool     `json:"expired"`
	Locked             bool     `json:"locked"`
	TOTPSecret         *string  `json:"totp_secret"`
	History            []string `json:"history"`
	Skip               *string  `json:"skip"`
	Increment          bool     `json:"increment"`
}

// flaskExpected is what make_fixture.py wrote with real Werkzeug besides
// the old database: the accounts, what the import must skip, and the old
// attribute model's answers.
type flaskExpected struct {
	Werkzeug     string                       `json:"werkzeug"`
	Users        []flaskUser                  `json:"users"`
	Skipped      map[string]map[string]string `json:"skipped"`
	DroppedLinks map[string]int               `json:"dropped_links"`
	Counts       map[string]map[string]int    `json:"counts"`
	Authorize    []flaskAnswer                `json:"authorize"`
}

// flaskAnswer is the old model's attribute list of one user in one lab.
type flaskAnswer struct {
	UserID       int64   `json:"user_id"`
	LabID        int64   `json:"lab_id"`
	AttributeIDs []int64 `json:"attribute_ids"`
	Admin        bool    `json:"admin"`
	UserActive   bool    `json:"user_active"`
	LabActive    bool    `json:"lab_active"`
	Member       bool    `json:"member"`
	OldDefect    bool    `json:"old_defect"`
	UnknownRole  bool    `json:"unknown_role"`
}

func loadFlaskExpected(t *testing.T) flaskExpected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(flask.Testdata(), "expected.json"))
	require.NoError(t, err)
	var e flaskExpected
	require.NoError(t, json.Unmarshal(b, &e))
	return e
}

func runFlaskImport(t *testing.T, s *server, dsn string, dryRun bool) application.ImportReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := bootstrap.ImportFlask(ctx, s.cfg, zaptest.NewLogger(t), dsn, dryRun)
	require.NoError(t, err)
	return rep
}

// tableCounts counts the rows of every table an import writes.
func tableCounts(t *testing.T, s *server) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"users", "organizations", "memberships", "permissions", "role_permissions",
		"grants", "audit_events", "legacy_ids", "password_history"} {
		var n int
		require.NoError(t, s.db.NewRaw("SELECT count(*) FROM "+table).Scan(context.Background(), &n))
		out[table] = n
	}
	return out
}

// newID translates an old id through the legacy_ids mapping, as clients do.
func newID(t *testing.T, s *server, kind string, old int64) string {
	t.Helper()
	var id uuid.UUID
	require.NoError(t, s.db.NewRaw("SELECT new_id FROM legacy_ids WHERE kind = ? AND old_id = ?", kind, old).
		Scan(context.Background(), &id), "%s %d", kind, old)
	return id.String()
}

func permissionName(t *testing.T, s *server, oldAttribute int64) string {
	t.Helper()
	var name string
	require.NoError(t, s.db.NewRaw(`SELECT p.name FROM legacy_ids AS l JOIN permissions AS p ON p.id = l.new_id
		WHERE l.kind = 'attribute' AND l.old_id = ?`, oldAttribute).Scan(context.Background(), &name))
	return name
}

func storedHashOf(t *testing.T, s *server, email string) string {
	t.Helper()
	var h string
	require.NoError(t, s.db.NewRaw("SELECT password_hash FROM users WHERE lower(email) = ?", strings.ToLower(email)).
		Scan(context.Background(), &h))
	return h
}

// TestFlaskImport builds the old service's real schema on SQLite,
// Postgres and MariaDB, fills it with rows Werkzeug hashed, imports it
// (dry run, run, repeated run, incremental run) and then checks over HTTP
// that nobody notices the switch: old passwords, TOTP with the old secret,
// forced changes, expiry, locks, history, and /authorize against the old
// attribute model.
func TestFlaskImport(t *testing.T) {
	exp := loadFlaskExpected(t)
	for _, engine := range flask.Engines {
		t.Run(engine, func(t *testing.T) {
			src := flask.New(t, engine)
			// The history is checked only when UMS keeps one, as the old
			// service did (5 passwords).
			s := startServer(t, dbtest.PostgresURL(t), map[string]string{"PASSWORD_HISTORY": "5", "LOGIN_MAX_FAILURES": "50"})
			base := exp.Counts["base"]

			before := tableCounts(t, s)
			rep := runFlaskImport(t, s, src.DSN, true)
			assert.True(t, rep.DryRun)
			assert.Equal(t, base, rep.Imported, "a dry run reports what it would import")
			assert.Equal(t, before, tableCounts(t, s), "a dry run writes nothing")

			rep = runFlaskImport(t, s, src.DSN, false)
			assert.Equal(t, base, rep.Imported)
			checkSkipsRenamesAndNotes(t, exp, rep)
			after := tableCounts(t, s)
			assert.Equal(t, before["audit_events"]+base["audit_events"]+1, after["audit_events"],
				"the old audit log plus one import.flask event")
			checkImportEvents(t, s, base)

			again := runFlaskImport(t, s, src.DSN, false)
			assert.Zero(t, again.Total(), "a repeated run imports nothing")
			assert.Equal(t, base, again.Existing)
			assert.Equal(t, after, tableCounts(t, s), "a repeated run changes nothing")

			src.Exec(t, "flask_increment.sql")
			inc := runFlaskImport(t, s, src.DSN, false)
			assert.Equal(t, exp.Counts["increment"], inc.Imported, "a later run imports only the new rows")

			checkAccountsSurviveTheSwitch(t, s, exp)
			checkAuthorizeMatchesOldModel(t, s, exp)
		})
	}
}

func checkSkipsRenamesAndNotes(t *testing.T, exp flaskExpected, rep application.ImportReport) {
	t.Helper()
	skipped := map[string]string{}
	for _, sk := range rep.Skipped {
		skipped[sk.Kind+" "+sk.OldID] = sk.Reason
	}
	for _, u := range exp.Users {
		if u.Skip != nil {
			assert.Contains(t, skipped["users "+itoa(u.ID)], *u.Skip)
		}
	}
	for kind, rows := range map[string]string{"lab_memberships": application.ImportMemberships,
		"role_attributes": application.ImportRolePerms, "user_lab_attributes": application.ImportGrants} {
		for id, reason := range exp.Skipped[kind] {
			assert.Contains(t, skipped[rows+" "+id], reason, "%s %s", kind, id)
		}
	}
	renamed := map[string]string{}
	for _, r := range rep.Renamed {
		renamed[r.Kind+" "+r.From] = r.To
	}
	assert.Equal(t, "legacy.sample_export", renamed["permissions Sample:Export"])
	assert.Equal(t, "legacy.admin", renamed["permissions admin"])
	assert.Equal(t, "lab.patient.read_8", renamed["permissions LAB.PATIENT.READ"], "two names that normalise alike stay apart")
	assert.Equal(t, "prot-01", renamed["organizations PROT_01"])
	for _, u := range exp.Users {
		if u.UMSUsername != nil {
			assert.Equal(t, *u.UMSUsername, renamed["users "+u.Username], "user %d keeps coming over under a derived username", u.ID)
		}
	}
	notes := strings.Join(rep.Notes, "\n")
	assert.Contains(t, notes, "1 users keep two-factor sign-in", "the TOTP user is told to have no recovery codes yet")
	assert.Contains(t, notes, "no recovery codes yet")
	assert.Contains(t, notes, fmt.Sprintf("%d password reset and %d email verification links",
		exp.DroppedLinks["password_reset"], exp.DroppedLinks["email_verification"]))
}

func checkImportEvents(t *testing.T, s *server, base map[string]int) {
	t.Helper()
	events := recentEvents(t, s, 50)
	legacy, failed := 0, 0
	var summary *map[string]any
	for _, ev := range events {
		switch {
		case ev.Action == application.ActionImportFlask:
			summary = &ev.Details
		case strings.HasPrefix(ev.Action, application.ActionLegacyPrefix):
			legacy++
			assert.NotZero(t, ev.Details["legacy_id"])
			if ev.Outcome == "failure" {
				failed++
				assert.Equal(t, "curl/8.0", ev.UserAgent, "the old row's user agent")
				assert.Equal(t, "10.0.0.9", ev.IP)
			}
			if ev.Action == "legacy.member_add" {
				assert.Equal(t, "organization", ev.TargetType, "a lab resource is its organization")
				assert.NotNil(t, ev.OrgID)
			}
		}
	}
	assert.Equal(t, base["audit_events"], legacy)
	assert.Equal(t, 1, failed, "the success flag becomes the outcome")
	require.NotNil(t, summary, "one import.flask event")
	imported := (*summary)["imported"].(map[string]any)
	assert.EqualValues(t, base["users"], imported["users"])
}

// checkAccountsSurviveTheSwitch signs every imported account in with its
// old password over HTTP.
func checkAccountsSurviveTheSwitch(t *testing.T, s *server, exp flaskExpected) {
	t.Helper()
	for _, u := range exp.Users {
		if u.Skip != nil {
			continue
		}
		t.Run(fmt.Sprintf("user_%d", u.ID), func(t *testing.T) {
			require.Equal(t, u.Hash, storedHashOf(t, s, u.Email), "the Werkzeug hash is imported as it was")
			res := s.postJSON(t, loginPath, map[string]any{"login": u.Email, "password": u.Password + "x"})
			assert.Equal(t, http.StatusUnauthorized, res.Status, "a wrong password is refused")
			attempt := map[string]any{"login": u.Email, "password": u.Password}
			switch {
			case !u.Active:
				assert.Equal(t, http.StatusUnauthorized, s.postJSON(t, loginPath, attempt).Status, "an inactive user stays out")
				return
			case u.Locked:
				assert.Equal(t, http.StatusTooManyRequests, s.postJSON(t, loginPath, attempt).Status,
					"the old lock holds for the right password")
				return
			case u.TOTPSecret != nil:
				res := s.postJSON(t, loginPath, attempt)
				require.Equal(t, http.StatusUnauthorized, res.Status)
				assert.Equal(t, "mfa_required", res.JSON(t)["code"], "TOTP stays on")
				code, err := totp.GenerateCode(*u.TOTPSecret, time.Now())
				require.NoError(t, err)
				attempt["mfa_code"] = code
			}
			res = s.postJSON(t, loginPath, attempt)
			require.Equal(t, http.StatusOK, res.Status, "%s signs in with the old password (and the old secret): %s", u.Email, res.Body)
			var tk tokens
			require.NoError(t, json.Unmarshal(res.Body, &tk))
			assert.Equal(t, u.MustChangePassword || u.Expired, tk.PasswordChangeRequired, "forced change or expiry carries over")
			assert.True(t, strings.HasPrefix(storedHashOf(t, s, u.Email), "$argon2id$"), "the hash is upgraded at login")
			me := s.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).JSON(t)
			if u.UMSUsername != nil {
				assert.Equal(t, *u.UMSUsername, me["username"])
			}
			for _, old := range u.History {
				res := s.authed(t, http.MethodPost, "/api/v1/auth/password/change", tk.AccessToken,
					map[string]any{"current_password": u.Password, "new_password": old})
				require.Equal(t, http.StatusUnprocessableEntity, res.Status, "an old password is refused: %s", res.Body)
				assert.Contains(t, string(res.Body), "password_reused")
			}
		})
	}
}

// checkAuthorizeMatchesOldModel asks /authorize (as the imported system
// admin, about each user) for every old attribute in every old lab and
// expects the old model's answer, with UMS's deliberate differences: a
// system admin holds every permission (the old model: active lab and
// system attributes), a deactivated organization confers nothing (the
// old model ignored the lab's flag), a membership of a role UMS does not
// have is skipped, and a user with a valid direct grant keeps it and the
// role's permissions (the old code failed and gave []).
func checkAuthorizeMatchesOldModel(t *testing.T, s *server, exp flaskExpected) {
	t.Helper()
	var admin flaskUser
	for _, u := range exp.Users {
		if u.Admin && u.Skip == nil {
			admin = u
		}
	}
	all := []string{}
	for id := int64(1); id <= int64(exp.Counts["base"]["permissions"]+exp.Counts["increment"]["permissions"]); id++ {
		all = append(all, permissionName(t, s, id))
	}
	tk := login(t, s, admin.Email, admin.Password)
	for _, a := range exp.Authorize {
		want := []string{}
		for _, id := range a.AttributeIDs {
			want = append(want, permissionName(t, s, id))
		}
		sort.Strings(want)
		if !a.LabActive || !a.UserActive || a.UnknownRole {
			want = []string{}
		}
		got := decision(t, s, tk.AccessToken, newID(t, s, "lab", a.LabID), all, newID(t, s, "user", a.UserID))
		granted, perms := sorted(strs(got["granted"])), sorted(strs(got["permissions"]))
		if a.Admin {
			assert.Subset(t, perms, want, "admin %d in lab %d holds at least what the old model gave", a.UserID, a.LabID)
			continue
		}
		assert.Equal(t, want, granted, "user %d in lab %d", a.UserID, a.LabID)
		assert.Equal(t, want, perms, "effective permissions of user %d in lab %d", a.UserID, a.LabID)
	}
}

func sorted(s []string) []string {
	if s == nil {
		return []string{}
	}
	sort.Strings(s)
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
