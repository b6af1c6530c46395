package e2e

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConsoleServiceAccounts: an org admin makes a service account on the
// organization's page, where it is listed apart from the people, gives it
// a secret shown once, and the account gets a token with it; deactivated
// on the page, its token stops; deleted, it is gone. A viewer sees the
// list without the forms.
func TestConsoleServiceAccounts(t *testing.T) {
	for name, dbURL := range dialects {
		t.Run(name, func(t *testing.T) {
			s := startIssuer(t, dbURL(t), nil)
			w := newWorld(t, s)
			orgPage := "/ui/admin/orgs/" + w.orgA
			post := orgPage + "/service-accounts"

			admin := adminConsoleSignIn(t, s, "org_admin")
			p := admin.get(t, s.base+orgPage)
			require.Equal(t, http.StatusOK, p.Status, p.Body)
			assert.Contains(t, p.Body, `id="machines-h"`)
			assert.Contains(t, p.Body, "No service accounts.")
			adminAccessible(t, p)

			bad := admin.submit(t, p, post, map[string]string{"name": "", "role": "member"})
			assert.Equal(t, http.StatusUnprocessableEntity, bad.Status)
			assert.Regexp(t, `<input id="sa-name" name="name"[^>]*aria-invalid="true"`, bad.Body)
			assert.Contains(t, bad.Body, `id="sa-name-error"`)

			made := admin.submit(t, p, post, map[string]string{"name": "Report robot", "description": "nightly", "role": "member"})
			require.Equal(t, http.StatusOK, made.Status, made.Body)
			assert.Contains(t, made.Body, "The service account is made.")
			rows := selfRows(made.Body)
			var robot string
			members := regexp.MustCompile(`(?s)id="members-h".*?</table>`).FindString(made.Body)
			assert.NotContains(t, members, "service-accounts.invalid", "people and machines are listed apart")
			for _, r := range rows {
				if m := regexp.MustCompile(`(?s)Report robot.*?<code>([0-9a-f-]{36})</code>`).FindStringSubmatch(r); m != nil {
					robot = m[1]
				}
			}
			require.NotEmpty(t, robot, made.Body)
			assert.Contains(t, made.Body, "no secret")

			sec := admin.submit(t, made, post+"/"+robot+"/secret", nil)
			require.Equal(t, http.StatusOK, sec.Status, sec.Body)
			secret := regexp.MustCompile(`id="sa-secret" type="text" readonly value="([^"]+)"`).FindStringSubmatch(sec.Body)
			require.Len(t, secret, 2, sec.Body)
			token := secretToken(t, s, robot, secret[1])
			assert.Equal(t, http.StatusOK, s.authed(t, http.MethodPost, "/api/v1/authorize", token,
				map[string]any{"org_id": w.orgA, "permissions": []string{}}).Status)
			assert.NotContains(t, admin.get(t, s.base+orgPage).Body, secret[1], "the secret is shown once")

			off := admin.submit(t, sec, post+"/"+robot+"/active", map[string]string{"active": "false"})
			require.Equal(t, http.StatusOK, off.Status, off.Body)
			assert.Contains(t, off.Body, "its tokens stop working at once")
			assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodPost, "/api/v1/authorize", token,
				map[string]any{"org_id": w.orgA, "permissions": []string{}}).Status)

			viewer := adminConsoleSignIn(t, s, "org_viewer")
			vp := viewer.get(t, s.base+orgPage)
			require.Equal(t, http.StatusOK, vp.Status)
			assert.Contains(t, vp.Body, "Report robot")
			assert.NotContains(t, vp.Body, `action="`+post+`"`, "a viewer sees no forms")
			forbidden := viewer.submit(t, vp, post, map[string]string{"name": "x", "role": "member"})
			assert.Equal(t, http.StatusForbidden, forbidden.Status)

			gone := admin.submit(t, off, post+"/"+robot+"/delete", nil)
			require.Equal(t, http.StatusOK, gone.Status, gone.Body)
			assert.Contains(t, gone.Body, "The service account is deleted")
			assert.Contains(t, gone.Body, "No service accounts.")
		})
	}
}
