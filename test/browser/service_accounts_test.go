package browser

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/test/dbtest"
)

// TestServiceAccountsInARealBrowser: an organization's admin makes a
// service account on the organization's page and gives it a secret, shown
// once, in headless Chromium; the account is listed apart from the
// people.
func TestServiceAccountsInARealBrowser(t *testing.T) {
	requireChromium(t)
	shots := screenshots(t)
	s := startIssuer(t, dbtest.SQLiteURL(t))
	_, err := bootstrap.CreateAdmin(context.Background(), s.cfg, zap.NewNop(), application.RegisterInput{
		Email: "root@example.com", Username: "root", Password: testPass})
	require.NoError(t, err)
	root := login(t, s, "root")
	st, org := s.call(t, http.MethodPost, "/api/v1/orgs", root, map[string]any{"name": "Lab South", "slug": "lab-south"})
	require.Equal(t, http.StatusCreated, st, "%v", org)
	orgID := org["id"].(string)
	bossID := registerUser(t, s, "chief")
	st, _ = s.call(t, http.MethodPost, "/api/v1/orgs/"+orgID+"/members", root, map[string]any{"user_id": bossID, "role": "admin"})
	require.Equal(t, http.StatusCreated, st)

	b := newTab(t, newChromium(t, 2*time.Minute), s, shots)
	res := b.signIn("chief")
	require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
	res = b.open("/ui/admin/orgs/" + orgID)
	require.Equal(t, http.StatusOK, int(res.Status))
	assert.Equal(t, "No service accounts.", b.text("#no-service-accounts"))
	b.fill(`#sa-name`, "Billing sync")
	b.fill(`#sa-description`, "pushes invoices nightly")
	b.set(`#sa-role`, "viewer")
	res = b.click(`main form[action$="/service-accounts"] button[type=submit]`)
	require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
	machines := b.text(`section[aria-labelledby="machines-h"] tbody`)
	assert.Contains(t, machines, "Billing sync")
	assert.Contains(t, machines, "viewer")
	assert.NotContains(t, b.text(`section[aria-labelledby="members-h"]`), "Billing sync")

	res = b.click(`main button[aria-label="New secret for Billing sync"]`)
	require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
	secret := eval[string](b, `document.querySelector("#sa-secret").value`)
	require.NotEmpty(t, secret)
	b.shot("16-service-accounts")
	b.assertCSPClean()
}
