package e2e

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/mailtest"
)

var consoleSignInLink = regexp.MustCompile(`<a href="(/ui/login\?next=[^"]+)">Sign in to accept</a>`)

// TestConsoleInvitations: an org admin invites from the organization's
// page; the mailed link's page lets a newcomer create the account, a
// signed-in invitee join with one button, and tells anyone else why not.
// No JavaScript is needed anywhere.
func TestConsoleInvitations(t *testing.T) {
	for name, dbURL := range dialects {
		t.Run(name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startIssuer(t, dbURL(t), selfMailEnv(smtp, nil))
			w := newWorld(t, s)
			seen := map[string]bool{}
			orgPage := "/ui/admin/orgs/" + w.orgA
			invitePost := orgPage + "/invitations"

			admin := adminConsoleSignIn(t, s, "org_admin")
			p := admin.get(t, s.base+orgPage)
			require.Equal(t, http.StatusOK, p.Status, p.Body)
			assert.Contains(t, p.Body, `id="invitations-h"`)
			assert.Contains(t, p.Body, `action="`+invitePost+`"`)
			assert.Contains(t, p.Body, "No open invitations.")
			adminAccessible(t, p)

			bad := admin.submit(t, p, invitePost, map[string]string{"email": "not-an-address", "role": "member", "expires_in_days": "7"})
			assert.Equal(t, http.StatusUnprocessableEntity, bad.Status)
			assert.Contains(t, selfFieldError(t, bad.Body, "email"), "valid email")
			assert.Contains(t, bad.Body, `value="not-an-address"`, "what was typed stays")

			sent := admin.submit(t, p, invitePost, map[string]string{"email": "newcomer@example.com", "role": "member", "expires_in_days": "7"})
			require.Equal(t, http.StatusOK, sent.Status, sent.Body)
			assert.Equal(t, orgPage, sent.URL.Path)
			assert.Contains(t, sent.Body, "The invitation is on its way.")
			assert.Contains(t, sent.Body, "newcomer@example.com")
			twice := admin.submit(t, sent, invitePost, map[string]string{"email": "newcomer@example.com", "role": "viewer"})
			assert.Equal(t, http.StatusUnprocessableEntity, twice.Status)
			assert.Contains(t, selfFieldError(t, twice.Body, "email"), "pending invitation")

			// A newcomer creates the account through the link.
			link := selfMailedLink(t, s, smtp, "newcomer@example.com", "/ui/invitations/accept", seen)
			guest := newBrowser()
			open := guest.get(t, link)
			require.Equal(t, http.StatusOK, open.Status, open.Body)
			assert.Contains(t, open.Body, "You are invited to join <strong>Org org-a</strong> as <strong>member</strong>")
			assert.Contains(t, open.Body, `action="/ui/invitations/register"`)
			assert.Regexp(t, consoleSignInLink, open.Body)
			assert.NotContains(t, open.Body, "<script>", "no inline script")
			selfAssertLabelled(t, open.Body)
			weak := guest.submit(t, open, "/ui/invitations/register", map[string]string{"username": "newcomer", "password": "short"})
			require.Equal(t, http.StatusUnprocessableEntity, weak.Status, weak.Body)
			assert.Contains(t, selfFieldError(t, weak.Body, "password"), "at least 12 characters")
			assert.Contains(t, weak.Body, `value="newcomer"`)
			made := guest.submit(t, weak, "/ui/invitations/register", map[string]string{"username": "newcomer", "password": testPass,
				"first_name": "New", "last_name": "Comer"})
			require.Equal(t, http.StatusOK, made.Status, made.Body)
			assert.Contains(t, made.Body, "newcomer@example.com is ready")
			again := guest.get(t, link)
			assert.Equal(t, http.StatusBadRequest, again.Status)
			assert.Contains(t, again.Body, "already accepted")
			home := selfSignIn(t, s, guest, "newcomer", testPass)
			require.Equal(t, http.StatusOK, home.Status, home.Body)
			org := guest.get(t, s.base+orgPage)
			require.Equal(t, http.StatusOK, org.Status, "a member now")

			// An invitee with an account signs in from the link and joins.
			registerUser(t, s, "joiner")
			verify := selfMailedLink(t, s, smtp, "joiner@example.com", "/ui/verify", seen)
			p = admin.get(t, s.base+orgPage)
			admin.submit(t, p, invitePost, map[string]string{"email": "joiner@example.com", "role": "viewer", "expires_in_days": "1"})
			joinLink := selfMailedLink(t, s, smtp, "joiner@example.com", "/ui/invitations/accept", seen)

			stranger := adminConsoleSignIn(t, s, "plain_user")
			wrong := stranger.get(t, joinLink)
			require.Equal(t, http.StatusOK, wrong.Status)
			assert.Contains(t, wrong.Body, "but the invitation is for joiner@example.com")
			assert.NotContains(t, wrong.Body, `action="/ui/invitations/accept"`)

			joiner := newBrowser()
			v := joiner.get(t, verify)
			require.Equal(t, http.StatusOK, joiner.submit(t, v, "/ui/verify", nil).Status)
			open = joiner.get(t, joinLink)
			signIn := consoleSignInLink.FindStringSubmatch(open.Body)
			require.Len(t, signIn, 2, open.Body)
			loginPage := joiner.get(t, s.base+html.UnescapeString(signIn[1]))
			require.Equal(t, http.StatusOK, loginPage.Status)
			back := joiner.submit(t, loginPage, "/ui/login", map[string]string{"login": "joiner", "password": testPass})
			require.Equal(t, http.StatusOK, back.Status, back.Body)
			assert.Equal(t, "/ui/invitations/accept", back.URL.Path, "signing in comes back to the invitation")
			assert.Contains(t, back.Body, `action="/ui/invitations/accept"`)
			joined := joiner.submit(t, back, "/ui/invitations/accept", nil)
			require.Equal(t, http.StatusOK, joined.Status, joined.Body)
			assert.Equal(t, orgPage, joined.URL.Path)
			assert.Contains(t, joined.Body, "you are a member of this organization now")
			members := s.authed(t, http.MethodGet, "/api/v1/orgs/"+w.orgA+"/members", login(t, s, "joiner", testPass).AccessToken, nil)
			require.Equal(t, http.StatusOK, members.Status, "a member now")
			assert.Contains(t, string(members.Body), `"email":"joiner@example.com","username":"joiner","role":"viewer"`)

			// Resend and revoke from the page.
			p = admin.get(t, s.base+orgPage)
			admin.submit(t, p, invitePost, map[string]string{"email": "later@example.com", "role": "viewer", "expires_in_days": "14"})
			oldLink := selfMailedLink(t, s, smtp, "later@example.com", "/ui/invitations/accept", seen)
			p = admin.get(t, s.base+orgPage)
			id := regexp.MustCompile(`/invitations/([0-9a-f-]{36})/resend`).FindStringSubmatch(p.Body)
			require.Len(t, id, 2, p.Body)
			resent := admin.submit(t, p, invitePost+"/"+id[1]+"/resend", nil)
			assert.Contains(t, resent.Body, "the earlier link no longer works")
			newLink := selfMailedLink(t, s, smtp, "later@example.com", "/ui/invitations/accept", seen)
			assert.Contains(t, guest.get(t, oldLink).Body, "not valid")
			revoked := admin.submit(t, resent, invitePost+"/"+id[1]+"/revoke", nil)
			assert.Contains(t, revoked.Body, "The invitation is revoked")
			assert.NotContains(t, revoked.Body, "later@example.com")
			gone := guest.get(t, newLink)
			assert.Equal(t, http.StatusBadRequest, gone.Status)
			assert.Contains(t, gone.Body, "withdrawn")

			// Those who do not manage the organization see no invitations.
			viewer := adminConsoleSignIn(t, s, "org_viewer")
			vp := viewer.get(t, s.base+orgPage)
			require.Equal(t, http.StatusOK, vp.Status)
			assert.NotContains(t, vp.Body, `id="invitations-h"`)
			refused := viewer.submit(t, vp, invitePost, map[string]string{"email": "sneaky@example.com", "role": "admin"})
			assert.Equal(t, http.StatusForbidden, refused.Status)
			assert.False(t, strings.Contains(refused.Body, "on its way"))
		})
	}
}
