package e2e

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConsoleAccessTokens makes a personal access token on the account
// page, uses it on the API, sees it listed without its value, and revokes
// it; a refused form keeps what was typed.
func TestConsoleAccessTokens(t *testing.T) {
	for name, dbURL := range dialects {
		t.Run(name, func(t *testing.T) {
			s := startIssuer(t, dbURL(t), nil)
			w := patWorld(t, s)
			b := newBrowser()
			require.Equal(t, "/ui/", selfSignIn(t, s, b, actorNames[orgMember], testPass).URL.Path)

			p := b.get(t, s.base+"/ui/account/tokens")
			require.Equal(t, http.StatusOK, p.Status, p.Body)
			assert.Contains(t, p.Body, `aria-current="page">Access tokens</a>`)
			assert.Contains(t, p.Body, "You have no access token.")
			assert.Contains(t, p.Body, `<option value="`+w.orgA+`"`)
			selfAssertLabelled(t, p.Body)

			refused := b.submit(t, p, "/ui/account/tokens", map[string]string{"name": "nightly", "expires_in": "30",
				"permissions": "lab.sample.ship"})
			assert.Equal(t, http.StatusUnprocessableEntity, refused.Status)
			assert.Contains(t, selfFieldError(t, refused.Body, "permissions"), "not held: lab.sample.ship")
			assert.Contains(t, refused.Body, `value="nightly"`, "what was typed stays")

			made := b.submit(t, p, "/ui/account/tokens", map[string]string{"name": "nightly", "expires_in": "30",
				"org_id": w.orgA, "permissions": "lab.patient.read, lab.report.read"})
			require.Equal(t, http.StatusCreated, made.Status, made.Body)
			assert.Contains(t, made.Body, "it is not shown again")
			value := regexp.MustCompile(`id="new-token" type="text" readonly value="(ums_pat_[0-9A-Za-z]+)"`).FindStringSubmatch(made.Body)
			require.Len(t, value, 2, made.Body)
			pat := value[1]
			d := decision(t, s, pat, w.orgA, []string{"lab.patient.read", "lab.report.read"}, "")
			assert.Equal(t, true, d["allowed"])

			list := b.get(t, s.base+"/ui/account/tokens")
			assert.NotContains(t, list.Body, pat, "the value is shown once")
			assert.Contains(t, list.Body, "…"+pat[len(pat)-4:])
			assert.Contains(t, list.Body, "Org org-a only")
			id := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(list.Body)
			require.Len(t, id, 2)
			gone := b.submit(t, list, "/ui/account/tokens/revoke", map[string]string{"token": id[1]})
			assert.Equal(t, http.StatusOK, gone.Status)
			assert.Contains(t, gone.Body, "The token is revoked")
			assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", pat, nil).Status)
			again := b.submit(t, list, "/ui/account/tokens/revoke", map[string]string{"token": id[1]})
			assert.Equal(t, http.StatusNotFound, again.Status)
		})
	}
}
