package e2e

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/test/dbtest"
)

// adminConsoleSignIn signs a new browser in at /ui/login.
func adminConsoleSignIn(t *testing.T, s *server, login string) *browser {
	t.Helper()
	b := newBrowser()
	p := b.get(t, s.base+"/ui/login")
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	home := b.submit(t, p, "/ui/login", map[string]string{"login": login, "password": testPass})
	require.Equal(t, http.StatusOK, home.Status, home.Body)
	require.Equal(t, "/ui/", home.URL.Path, "signed in, the browser lands on the console")
	return b
}

// htmx fetches u as htmx does for a partial update.
func (b *browser) adminHTMX(t *testing.T, u string) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	req.Header.Set("HX-Request", "true")
	res, err := b.c.Do(req)
	require.NoError(t, err)
	return readPage(t, res)
}

var (
	adminFormControl = regexp.MustCompile(`<(?:input|select|textarea)\b[^>]*>`)
	adminControlID   = regexp.MustCompile(` id="([^"]+)"`)
)

// adminAccessible checks what a page offers people using assistive
// technology: every control has a label (a <label for>, a wrapping
// <label>, or an aria-label where a table row names it), every table
// header a scope.
func adminAccessible(t *testing.T, p page) {
	t.Helper()
	for _, tag := range adminFormControl.FindAllString(p.Body, -1) {
		if strings.Contains(tag, `type="hidden"`) || strings.Contains(tag, ` aria-label="`) {
			continue
		}
		if id := adminControlID.FindStringSubmatch(tag); id != nil {
			assert.Contains(t, p.Body, `<label for="`+id[1]+`">`, "%s: %s has no label", p.URL.Path, tag)
			continue
		}
		assert.Contains(t, p.Body, "<label>"+tag, "%s: %s has no label", p.URL.Path, tag)
	}
	assert.NotContains(t, p.Body, "<th>", "%s: a table header without scope", p.URL.Path)
}

// adminAPILoginStatus is the status of an API login attempt.
func adminAPILoginStatus(t *testing.T, s *server, name string) int {
	t.Helper()
	return s.postJSON(t, loginPath, map[string]any{"login": name, "password": testPass}).Status
}

func TestConsoleAdmin(t *testing.T) {
	forEachDialectIssuer(t, func(t *testing.T, s *server) {
		_, err := bootstrap.CreateAdmin(context.Background(), s.cfg, zap.NewNop(), application.RegisterInput{
			Email: "root@example.com", Username: "root", Password: testPass})
		require.NoError(t, err)
		victimID := registerUser(t, s, "victim")
		registerUser(t, s, "boss")
		staffID := registerUser(t, s, "staff")
		registerUser(t, s, "plain")
		admin := login(t, s, "root", testPass)

		// Organization B exists through the API; A is made in the console.
		res := s.authed(t, http.MethodPost, "/api/v1/orgs", admin.AccessToken, map[string]any{"name": "Lab B", "slug": "lab-b"})
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
		orgB := res.JSON(t)["id"].(string)

		b := adminConsoleSignIn(t, s, "root")
		orgs := b.get(t, s.base+"/ui/admin/orgs")
		require.Equal(t, http.StatusOK, orgs.Status, orgs.Body)
		require.Contains(t, orgs.Body, "Lab B")
		bad := b.submit(t, orgs, "/ui/admin/orgs", map[string]string{"name": "Lab A", "slug": "Not A Slug!"})
		require.Equal(t, http.StatusUnprocessableEntity, bad.Status, bad.Body)
		assert.Contains(t, bad.Body, `aria-describedby="org-slug-error"`, "the error sits next to the field")
		assert.Contains(t, bad.Body, `value="Lab A"`, "what was typed stays")
		orgPage := b.submit(t, bad, "/ui/admin/orgs", map[string]string{"name": "Lab A", "slug": "lab-a"})
		require.Equal(t, http.StatusOK, orgPage.Status, orgPage.Body)
		require.Contains(t, orgPage.Body, "The organization is created.")
		orgA := strings.TrimPrefix(orgPage.URL.Path, "/ui/admin/orgs/")
		require.Len(t, orgA, 36, orgPage.URL.String())
		orgAPath := "/ui/admin/orgs/" + orgA

		// The catalog gets a permission.
		perms := b.get(t, s.base+"/ui/admin/permissions")
		require.Equal(t, http.StatusOK, perms.Status, perms.Body)
		perms = b.submit(t, perms, "/ui/admin/permissions", map[string]string{"name": "lab.samples.read", "description": "Read samples"})
		require.Equal(t, http.StatusOK, perms.Status, perms.Body)
		require.Contains(t, perms.Body, "lab.samples.read")

		// Members: by email (a system admin may look users up), by
		// username, by id; a name nobody has is an error next to the field.
		orgPage = b.get(t, s.base+orgAPath)
		miss := b.submit(t, orgPage, orgAPath+"/members", map[string]string{"user": "nobody@example.com", "role": "member"})
		require.Equal(t, http.StatusUnprocessableEntity, miss.Status, miss.Body)
		assert.Contains(t, miss.Body, `aria-describedby="member-user-error"`)
		assert.Contains(t, miss.Body, "No user has this email address or username.")
		for user, role := range map[string]string{"boss@example.com": "admin", "staff": "member", victimID: "viewer"} {
			orgPage = b.submit(t, orgPage, orgAPath+"/members", map[string]string{"user": user, "role": role})
			require.Equal(t, http.StatusOK, orgPage.Status, orgPage.Body)
			require.Contains(t, orgPage.Body, "The member is added.", user)
		}
		again := b.submit(t, orgPage, orgAPath+"/members", map[string]string{"user": "staff@example.com", "role": "viewer"})
		require.Equal(t, http.StatusUnprocessableEntity, again.Status, again.Body)
		assert.Contains(t, again.Body, "Is already a member of this organization.")
		assert.Contains(t, orgPage.Body, "boss@example.com")
		adminAccessible(t, orgPage)
		adminAccessible(t, perms)
		adminAccessible(t, orgs)
		assert.Contains(t, orgPage.Body, "staff@example.com")

		t.Run("find and deactivate a user", func(t *testing.T) {
			found := b.get(t, s.base+"/ui/admin/users?q=victim")
			require.Equal(t, http.StatusOK, found.Status, found.Body)
			require.Contains(t, found.Body, `href="/ui/admin/users/`+victimID+`"`)
			assert.NotContains(t, found.Body, "boss@example.com")
			assert.Contains(t, found.Body, `<th scope="col">Last sign-in</th>`)
			adminAccessible(t, found)

			part := b.adminHTMX(t, s.base+"/ui/admin/users?q=victim")
			require.Equal(t, http.StatusOK, part.Status)
			assert.NotContains(t, part.Body, "<html", "htmx gets the results only")
			assert.Contains(t, part.Body, `href="/ui/admin/users/`+victimID+`"`)

			require.Equal(t, http.StatusOK, adminAPILoginStatus(t, s, "victim"))
			user := b.get(t, s.base+"/ui/admin/users/"+victimID)
			require.Equal(t, http.StatusOK, user.Status, user.Body)
			require.Contains(t, user.Body, "Lab A", "the user's organizations")
			adminAccessible(t, user)
			off := b.submit(t, user, "/ui/admin/users/"+victimID+"/deactivate", nil)
			require.Equal(t, http.StatusOK, off.Status, off.Body)
			assert.Contains(t, off.Body, "The account is deactivated")
			assert.Contains(t, off.Body, "Activate account")
			assert.NotEqual(t, http.StatusOK, adminAPILoginStatus(t, s, "victim"), "a deactivated account cannot sign in")

			inactive := b.get(t, s.base+"/ui/admin/users?active=false")
			assert.Contains(t, inactive.Body, "victim@example.com")
			assert.NotContains(t, inactive.Body, "staff@example.com")
		})

		t.Run("grant a permission with an expiry", func(t *testing.T) {
			orgPage := b.get(t, s.base+orgAPath)
			require.Contains(t, orgPage.Body, `type="datetime-local"`)
			past := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04")
			refused := b.submit(t, orgPage, orgAPath+"/grants",
				map[string]string{"user_id": staffID, "permission": "lab.samples.read", "expires_at": past})
			require.Equal(t, http.StatusUnprocessableEntity, refused.Status, refused.Body)
			assert.Contains(t, refused.Body, `grant-expires-error`)
			assert.Contains(t, refused.Body, "Must be in the future.")

			expires := time.Now().UTC().Add(72 * time.Hour).Truncate(time.Minute)
			granted := b.submit(t, refused, orgAPath+"/grants",
				map[string]string{"user_id": staffID, "permission": "lab.samples.read", "expires_at": expires.Format("2006-01-02T15:04")})
			require.Equal(t, http.StatusOK, granted.Status, granted.Body)
			assert.Contains(t, granted.Body, "The grant is added.")
			assert.Contains(t, granted.Body, "<code>lab.samples.read</code>")
			assert.Contains(t, granted.Body, expires.Format("2006-01-02 15:04 UTC"), "the grant is listed with its expiry")

			staff := login(t, s, "staff", testPass)
			res := s.authed(t, http.MethodGet, "/api/v1/me/permissions?org_id="+orgA, staff.AccessToken, nil)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			assert.Contains(t, res.JSON(t)["permissions"], "lab.samples.read", "the API sees the console's grant")
		})

		t.Run("audit log filtered by action", func(t *testing.T) {
			audit := b.get(t, s.base+"/ui/admin/audit?action=user.updated")
			require.Equal(t, http.StatusOK, audit.Status, audit.Body)
			assert.Contains(t, audit.Body, "<code>user.updated</code>")
			assert.Contains(t, audit.Body, `href="/ui/admin/users/`+victimID+`">victim@example.com</a>`, "the deactivated user is the target")
			assert.Contains(t, audit.Body, "is_active")
			assert.NotContains(t, audit.Body, "<code>grant.added</code>", "the filter keeps other actions out")
			adminAccessible(t, audit)

			byRoot := b.get(t, s.base+"/ui/admin/audit?"+url.Values{"actor": {"root@example.com"}, "action": {"grant.added"}}.Encode())
			require.Equal(t, http.StatusOK, byRoot.Status, byRoot.Body)
			assert.Contains(t, byRoot.Body, "<code>grant.added</code>")
			assert.NotContains(t, byRoot.Body, "<code>user.updated</code>")

			future := time.Now().UTC().Add(24 * time.Hour).Format("2006-01-02T15:04")
			none := b.get(t, s.base+"/ui/admin/audit?from="+future)
			require.Equal(t, http.StatusOK, none.Status)
			assert.Contains(t, none.Body, "No event matches.")

			wrong := b.get(t, s.base+"/ui/admin/audit?from=yesterday")
			assert.Equal(t, http.StatusUnprocessableEntity, wrong.Status)
			assert.Contains(t, wrong.Body, `aria-describedby="f-from-error"`)
		})

		t.Run("an org admin sees their organization only", func(t *testing.T) {
			boss := adminConsoleSignIn(t, s, "boss")
			list := boss.get(t, s.base+"/ui/admin/orgs")
			require.Equal(t, http.StatusOK, list.Status)
			assert.Contains(t, list.Body, "Lab A")
			assert.NotContains(t, list.Body, "Lab B")
			own := boss.get(t, s.base+orgAPath)
			require.Equal(t, http.StatusOK, own.Status, own.Body)
			assert.Contains(t, own.Body, "Grant a permission")
			assert.Contains(t, own.Body, "<code>lab.samples.read</code>")
			adminAccessible(t, own)

			other := boss.get(t, s.base+"/ui/admin/orgs/"+orgB)
			assert.Equal(t, http.StatusNotFound, other.Status, "another organization does not exist for them")
			post := boss.submit(t, own, "/ui/admin/orgs/"+orgB+"/grants", map[string]string{"user_id": staffID, "permission": "lab.samples.read"})
			assert.Equal(t, http.StatusNotFound, post.Status)

			for _, path := range []string{"/ui/admin/users", "/ui/admin/users/" + victimID, "/ui/admin/permissions", "/ui/admin/audit"} {
				p := boss.get(t, s.base+path)
				assert.Equal(t, http.StatusForbidden, p.Status, path)
			}
			audit := boss.get(t, s.base+"/ui/admin/audit?org_id="+orgA)
			require.Equal(t, http.StatusOK, audit.Status, audit.Body)
			assert.Contains(t, audit.Body, "<code>grant.added</code>")
			adminAccessible(t, audit)
			assert.Equal(t, http.StatusNotFound, boss.get(t, s.base+"/ui/admin/audit?org_id="+orgB).Status)
		})

		t.Run("plain users get no admin page", func(t *testing.T) {
			plain := adminConsoleSignIn(t, s, "plain")
			for _, path := range []string{"/ui/admin/users", "/ui/admin/users/" + staffID, "/ui/admin/permissions", "/ui/admin/audit"} {
				p := plain.get(t, s.base+path)
				assert.Equal(t, http.StatusForbidden, p.Status, path)
			}
			assert.Equal(t, http.StatusNotFound, plain.get(t, s.base+orgAPath).Status)
			assert.Equal(t, http.StatusNotFound, plain.get(t, s.base+"/ui/admin/audit?org_id="+orgA).Status)

			// A member sees the organization but manages nothing.
			staff := adminConsoleSignIn(t, s, "staff")
			p := staff.get(t, s.base+orgAPath)
			require.Equal(t, http.StatusOK, p.Status, p.Body)
			assert.NotContains(t, p.Body, "Grant a permission")
			assert.Equal(t, http.StatusForbidden, staff.get(t, s.base+"/ui/admin/audit?org_id="+orgA).Status)
			refused := staff.submit(t, p, orgAPath+"/members", map[string]string{"user": victimID, "role": "admin"})
			assert.Equal(t, http.StatusForbidden, refused.Status)
		})

		t.Run("a post without the CSRF token is refused", func(t *testing.T) {
			res, err := b.c.PostForm(s.base+"/ui/admin/users/"+victimID+"/activate", url.Values{})
			require.NoError(t, err)
			p := readPage(t, res)
			assert.Contains(t, []int{http.StatusBadRequest, http.StatusForbidden}, p.Status, p.Body)
			res, err = b.c.PostForm(s.base+"/ui/admin/users/"+victimID+"/activate", url.Values{"csrf": {"forged"}})
			require.NoError(t, err)
			p = readPage(t, res)
			assert.Equal(t, http.StatusForbidden, p.Status, p.Body)
			assert.NotEqual(t, http.StatusOK, adminAPILoginStatus(t, s, "victim"), "the account stays deactivated")
		})
	})
}

// TestConsoleAdminAsksForThePasswordAgain: a sensitive action after the
// sign-in grew old sends the admin to confirm the password first.
func TestConsoleAdminAsksForThePasswordAgain(t *testing.T) {
	s := startIssuer(t, dbtest.SQLiteURL(t), map[string]string{"UI_REAUTH_AFTER": "1s"})
	_, err := bootstrap.CreateAdmin(context.Background(), s.cfg, zap.NewNop(), application.RegisterInput{
		Email: "root@example.com", Username: "root", Password: testPass})
	require.NoError(t, err)
	id := registerUser(t, s, "suspect")
	b := adminConsoleSignIn(t, s, "root")
	user := b.get(t, s.base+"/ui/admin/users/"+id)
	require.Equal(t, http.StatusOK, user.Status, user.Body)
	time.Sleep(2100 * time.Millisecond)

	confirm := b.submit(t, user, "/ui/admin/users/"+id+"/revoke-sessions", nil)
	require.Equal(t, http.StatusOK, confirm.Status, confirm.Body)
	require.Equal(t, "/ui/login", confirm.URL.Path)
	assert.Equal(t, "1", confirm.URL.Query().Get("reauth"))
	assert.Contains(t, confirm.Body, "Confirm it is you")

	back := b.submit(t, confirm, "/ui/login", map[string]string{"login": "root", "password": testPass})
	require.Equal(t, http.StatusOK, back.Status, back.Body)
	require.Equal(t, "/ui/admin/users/"+id, back.URL.Path, "the admin comes back to the page")
	revoked := b.submit(t, back, "/ui/admin/users/"+id+"/revoke-sessions", nil)
	require.Equal(t, http.StatusOK, revoked.Status, revoked.Body)
	assert.Contains(t, revoked.Body, "Every session of the user is ended.")
}
