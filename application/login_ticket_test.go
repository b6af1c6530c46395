package application_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// twoStepLogin is the fixture's login with tickets on.
func twoStepLogin(f *authFixture) *application.Login {
	return application.NewLogin(application.LoginDeps{Credentials: f.creds, MFA: application.NewMFA(application.MFADeps{}),
		Sessions: f.sess, Audit: fakeAudit{f.db}, Clock: f.clock, IDs: &seqIDs{}, Box: plainBox{}}, false)
}

func TestBeginGivesATicketOnlyWhenOnlyTheSecondFactorIsMissing(t *testing.T) {
	f := newAuthFixture(t, application.SessionConfig{})
	l := twoStepLogin(f)
	ctx := context.Background()

	pair, ticket, err := l.Begin(ctx, application.LoginInput{Login: "ada", Password: "right password"})
	require.NoError(t, err, "no second factor: signed in at once")
	assert.NotEmpty(t, pair.RefreshToken)
	assert.Empty(t, ticket)

	_, ticket, err = l.Begin(ctx, application.LoginInput{Login: "ada", Password: "wrong password"})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials)
	assert.Empty(t, ticket, "a wrong password earns no ticket")

	f.setUser(func(s *domain.UserState) { s.MFA.Enabled = true })
	_, ticket, err = l.Begin(ctx, application.LoginInput{Login: "ada", Password: "wrong password"})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials)
	assert.Empty(t, ticket)
	_, ticket, err = l.Begin(ctx, application.LoginInput{Login: "ada", Password: "right password"})
	require.ErrorIs(t, err, domain.ErrMFARequired)
	assert.NotEmpty(t, ticket)
	assert.NotContains(t, ticket, "right password", "the password is not in the ticket")
}

func TestFinishRefusesForgedExpiredAndStaleTickets(t *testing.T) {
	f := newAuthFixture(t, application.SessionConfig{})
	f.setUser(func(s *domain.UserState) { s.MFA.Enabled = true })
	l := twoStepLogin(f)
	ctx := context.Background()
	_, ticket, err := l.Begin(ctx, application.LoginInput{Login: "ada", Password: "right password"})
	require.ErrorIs(t, err, domain.ErrMFARequired)

	for name, tk := range map[string]string{"empty": "", "garbage": "not-a-ticket", "huge": string(make([]byte, 5000))} {
		_, err := l.Finish(ctx, tk, "123456")
		assert.ErrorIs(t, err, application.ErrMFATicketInvalid, name)
	}

	f.setUser(func(s *domain.UserState) { s.Password.Hash = "h:new password" })
	_, err = l.Finish(ctx, ticket, "123456")
	assert.ErrorIs(t, err, application.ErrMFATicketInvalid, "a password changed between the steps voids the ticket")

	f.setUser(func(s *domain.UserState) { s.Password.Hash = "h:right password" })
	f.clock.Advance(6 * time.Minute)
	_, err = l.Finish(ctx, ticket, "123456")
	assert.ErrorIs(t, err, application.ErrMFATicketInvalid, "a ticket lives five minutes")

	f.clock.Advance(-6 * time.Minute)
	f.setUser(func(s *domain.UserState) { s.IsActive = false })
	_, err = l.Finish(ctx, ticket, "123456")
	assert.ErrorIs(t, err, application.ErrMFATicketInvalid, "a deactivated account cannot finish")
	assert.NotContains(t, f.throttle.calls[len(f.throttle.calls)-1:], "succeed")
}
