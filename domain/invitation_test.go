package domain_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
)

var invitedAt = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newInvitation(t *testing.T, expiresIn *time.Duration) domain.Invitation {
	t.Helper()
	inv, err := domain.NewInvitation(domain.NewInvitationParams{ID: uuid.New(), OrgID: uuid.New(),
		Email: " New.Person@Example.COM ", Role: "member", TokenHash: []byte("h"), InvitedBy: uuid.New(),
		ExpiresIn: expiresIn, Now: invitedAt})
	require.NoError(t, err)
	return inv
}

func dur(d time.Duration) *time.Duration { return &d }

func TestNewInvitation(t *testing.T) {
	inv := newInvitation(t, nil)
	assert.Equal(t, "new.person@example.com", inv.Email.String())
	assert.Equal(t, domain.RoleMember, inv.Role)
	assert.Equal(t, invitedAt.Add(7*24*time.Hour), inv.ExpiresAt, "a week by default")
	assert.Equal(t, invitedAt, inv.LastSentAt)
	assert.NotNil(t, inv.InvitedBy)
	assert.Equal(t, invitedAt.Add(time.Hour), newInvitation(t, dur(time.Hour)).ExpiresAt)
	assert.Equal(t, invitedAt.Add(30*24*time.Hour), newInvitation(t, dur(30*24*time.Hour)).ExpiresAt)
}

func TestNewInvitationRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, email, role string
		expiresIn         *time.Duration
		fields            []string
	}{
		{"bad_email", "not-an-address", "member", nil, []string{"email"}},
		{"empty_email", "", "member", nil, []string{"email"}},
		{"reserved_email", "robot@sa.example.invalid", "member", nil, []string{"email"}},
		{"bad_role", "a@example.com", "owner", nil, []string{"role"}},
		{"too_short", "a@example.com", "viewer", dur(time.Hour - time.Second), []string{"expires_in"}},
		{"too_long", "a@example.com", "viewer", dur(30*24*time.Hour + time.Second), []string{"expires_in"}},
		{"negative", "a@example.com", "admin", dur(-time.Hour), []string{"expires_in"}},
		{"everything", "x", "", dur(0), []string{"email", "role", "expires_in"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := domain.NewInvitation(domain.NewInvitationParams{ID: uuid.New(), Email: tc.email, Role: tc.role,
				ExpiresIn: tc.expiresIn, Now: invitedAt})
			var de *domain.Error
			require.ErrorAs(t, err, &de)
			assert.Equal(t, domain.KindInvalid, de.Kind)
			var fields []string
			for _, f := range de.Fields {
				fields = append(fields, f.Field)
			}
			assert.Equal(t, tc.fields, fields)
		})
	}
}

func TestInvitationStates(t *testing.T) {
	inv := newInvitation(t, dur(time.Hour))
	now := invitedAt.Add(time.Minute)
	assert.Equal(t, domain.InvitationPending, inv.Status(now))
	assert.NoError(t, inv.CheckAcceptable(now))
	assert.NoError(t, inv.CheckOpen())

	expired := inv.ExpiresAt
	assert.Equal(t, domain.InvitationExpired, inv.Status(expired), "expired at its expiry")
	assert.ErrorIs(t, inv.CheckAcceptable(expired), domain.ErrInvitationExpired)
	assert.NoError(t, inv.CheckOpen(), "an expired invitation can still be resent or revoked")

	revoked := inv
	revoked.RevokedAt = &now
	assert.Equal(t, domain.InvitationRevoked, revoked.Status(now))
	assert.ErrorIs(t, revoked.CheckAcceptable(now), domain.ErrInvitationRevoked)
	assert.ErrorIs(t, revoked.CheckOpen(), domain.ErrInvitationRevoked)

	accepted := inv
	by := uuid.New()
	accepted.AcceptedAt, accepted.AcceptedBy = &now, &by
	assert.Equal(t, domain.InvitationAccepted, accepted.Status(expired), "accepted stays accepted")
	assert.ErrorIs(t, accepted.CheckAcceptable(now), domain.ErrInvitationAccepted)
	assert.ErrorIs(t, accepted.CheckOpen(), domain.ErrInvitationAccepted)
	assert.False(t, accepted.Open())
	assert.Equal(t, domain.KindConflict, domain.KindOf(accepted.CheckAcceptable(now)))
}

func TestInvitationRenewKeepsItsLife(t *testing.T) {
	inv := newInvitation(t, dur(2*time.Hour))
	later := invitedAt.Add(5 * time.Hour)
	rn, err := inv.Renew([]byte("new"), later)
	require.NoError(t, err)
	assert.Equal(t, later.Add(2*time.Hour), rn.ExpiresAt, "the life it was given, from now")
	assert.Equal(t, later, rn.SentAt)
	assert.Equal(t, []byte("new"), rn.TokenHash)

	now := invitedAt
	inv.RevokedAt = &now
	_, err = inv.Renew([]byte("new"), later)
	assert.ErrorIs(t, err, domain.ErrInvitationRevoked)
}

func TestInvitationInvitee(t *testing.T) {
	inv := newInvitation(t, nil)
	user := func(email string, verified bool) *domain.User {
		return domain.NewUser(domain.NewUserParams{ID: uuid.New(), Email: domain.MustEmail(email),
			Username: domain.MustUsername("someone"), EmailVerified: verified, Now: invitedAt})
	}
	assert.NoError(t, inv.CheckInvitee(user("NEW.person@example.com", true)))
	assert.ErrorIs(t, inv.CheckInvitee(user("new.person@example.com", false)), domain.ErrInvitationEmailUnverified)
	assert.ErrorIs(t, inv.CheckInvitee(user("other@example.com", true)), domain.ErrInvitationEmailMismatch)
	assert.Equal(t, domain.KindForbidden, domain.KindOf(inv.CheckInvitee(user("other@example.com", true))))
}
