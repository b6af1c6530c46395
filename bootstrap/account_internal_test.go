package bootstrap

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/application"
)

func TestMailLinksPointAtTheConsoleUnlessAWebAppIsConfigured(t *testing.T) {
	c, err := ParseConfig(map[string]string{"PUBLIC_URL": "https://ums.example.com"})
	require.NoError(t, err)
	mc := mailConfig(c)
	assert.Equal(t, "https://ums.example.com", mc.LinkBase)
	assert.Equal(t, application.LinkPaths{Reset: "/ui/reset", Verify: "/ui/verify", Invite: "/ui/invitations/accept"}, mc.LinkPaths,
		"without MAIL_LINK_BASE_URL the console's own pages take the tokens")
	assert.Equal(t, c.PasswordResetTTL, mc.ResetTTL)
	assert.Equal(t, c.EmailVerificationTTL, mc.VerificationTTL)

	c, err = ParseConfig(map[string]string{"PUBLIC_URL": "https://ums.example.com", "MAIL_LINK_BASE_URL": "https://portal.example.com"})
	require.NoError(t, err)
	mc = mailConfig(c)
	assert.Equal(t, "https://portal.example.com", mc.LinkBase)
	assert.Equal(t, application.PortalLinkPaths, mc.LinkPaths, "a web app of its own keeps /reset-password and /verify-email")
	assert.Equal(t, application.LinkPaths{Reset: "/reset-password", Verify: "/verify-email", Invite: "/accept-invitation"},
		application.PortalLinkPaths)
}
