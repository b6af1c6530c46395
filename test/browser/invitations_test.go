package browser

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/test/dbtest"
	"github.com/ums-project/ums/test/mailtest"
)

// TestInvitationsInARealBrowser: an organization's admin invites an
// address from the organization's page; the newcomer opens the mailed
// link, creates the account on the invitation's page, signs in and lands
// on the organization, in headless Chromium, breaking no rule of the CSP.
func TestInvitationsInARealBrowser(t *testing.T) {
	requireChromium(t)
	shots := screenshots(t)
	smtp := mailtest.Start(t)
	s := startIssuerWith(t, dbtest.SQLiteURL(t), map[string]string{
		"MAIL_DRIVER": "smtp", "SMTP_HOST": smtp.Host(), "SMTP_PORT": strconv.Itoa(smtp.Port()), "SMTP_TLS": "none",
		"MAIL_POLL_INTERVAL": "50ms", "MAIL_FROM": "UMS <no-reply@example.com>",
	})
	_, err := bootstrap.CreateAdmin(context.Background(), s.cfg, zap.NewNop(), application.RegisterInput{
		Email: "root@example.com", Username: "root", Password: testPass})
	require.NoError(t, err)
	root := login(t, s, "root")
	st, org := s.call(t, http.MethodPost, "/api/v1/orgs", root, map[string]any{"name": "Lab North", "slug": "lab-north"})
	require.Equal(t, http.StatusCreated, st, "%v", org)
	orgID := org["id"].(string)
	bossID := registerUser(t, s, "boss")
	st, _ = s.call(t, http.MethodPost, "/api/v1/orgs/"+orgID+"/members", root, map[string]any{"user_id": bossID, "role": "admin"})
	require.Equal(t, http.StatusCreated, st)

	browser := newChromium(t, 2*time.Minute)
	admin := newTab(t, browser, s, shots)
	res := admin.signIn("boss")
	require.Equal(t, http.StatusOK, int(res.Status), admin.text("main"))
	res = admin.open("/ui/admin/orgs/" + orgID)
	require.Equal(t, http.StatusOK, int(res.Status))
	admin.fill(`#invite-email`, "newcomer@example.com")
	admin.set(`#invite-role`, "viewer")
	res = admin.click(`main form[action$="/invitations"] button[type=submit]`)
	require.Equal(t, http.StatusOK, int(res.Status), admin.text("main"))
	assert.Equal(t, "The invitation is on its way.", admin.notice())
	assert.Contains(t, admin.text(`section[aria-labelledby="invitations-h"] tbody`), "newcomer@example.com")
	admin.shot("14-invitations")
	admin.assertCSPClean()

	link := regexp.MustCompile(regexp.QuoteMeta(s.base) + `/ui/invitations/accept\?token=[A-Za-z0-9_\-]+`)
	m := smtp.WaitFor(t, func(m mailtest.Message) bool {
		return mailtest.To("newcomer@example.com")(m) && link.MatchString(m.Text)
	}, 15*time.Second)

	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancel()
	guest := newTab(t, ctx, s, shots)
	res = guest.open(link.FindString(m.Text))
	require.Equal(t, http.StatusOK, int(res.Status))
	assert.Equal(t, "Join Lab North", guest.heading())
	guest.shot("15-invitation-accept")
	guest.fill(`#username`, "newcomer")
	guest.fill(`#password`, testPass)
	res = guest.click(`main form[action="/ui/invitations/register"] button[type=submit]`)
	require.Equal(t, http.StatusOK, int(res.Status), guest.text("main"))
	assert.Contains(t, guest.notice(), "newcomer@example.com is ready")
	res = guest.click(`main a[href^="/ui/login"]`)
	require.Equal(t, http.StatusOK, int(res.Status))
	guest.fill(`#login`, "newcomer")
	guest.fill(`#password`, testPass)
	res = guest.click(`main form[action="/ui/login"] button[type=submit]`)
	require.Equal(t, http.StatusOK, int(res.Status), guest.text("main"))
	assert.Equal(t, "/ui/admin/orgs/"+orgID, guest.location().Path, "signing in goes on to the organization")
	assert.Equal(t, "Lab North", guest.heading())
	assert.Contains(t, guest.text("main"), "newcomer@example.com")
	guest.assertCSPClean()
}
