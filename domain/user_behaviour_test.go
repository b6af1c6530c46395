package domain_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
)

var behaviourNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newTestUser(edit func(s *domain.UserState)) *domain.User {
	u := domain.NewUser(domain.NewUserParams{ID: uuid.New(), Email: domain.MustEmail("ada@example.com"),
		Username: domain.MustUsername("ada"), PasswordHash: "old-hash", Now: behaviourNow.Add(-time.Hour)})
	if edit == nil {
		return u
	}
	s := u.State()
	edit(&s)
	return domain.RehydrateUser(s)
}

func TestSetPasswordEndsForcedChangeAndLockAndNamesWhatItReplaces(t *testing.T) {
	until := behaviourNow.Add(time.Hour)
	u := newTestUser(func(s *domain.UserState) {
		s.Password.MustChange = true
		s.Lock = domain.AccountLock{Until: &until, Failures: 5}
	})
	ch := u.SetPassword("new-hash", behaviourNow, 90*24*time.Hour)
	assert.Equal(t, "old-hash", ch.Previous, "the write is guarded by the hash it replaces")
	assert.Equal(t, "new-hash", u.PasswordHash())
	assert.False(t, u.MustChangePassword())
	assert.Nil(t, u.LockedUntil())
	assert.Zero(t, u.FailedLoginCount())
	require.NotNil(t, ch.ExpiresAt)
	assert.Equal(t, behaviourNow.Add(90*24*time.Hour), *ch.ExpiresAt)
	assert.Equal(t, behaviourNow, u.UpdatedAt())
}

func TestRecordLoginGuardsWhatTheLoginVerified(t *testing.T) {
	u := newTestUser(func(s *domain.UserState) { s.MFA.Enabled = true })
	rec, guard := u.RecordLogin(behaviourNow, "192.0.2.1", "curl", "rehashed")
	assert.Equal(t, domain.LoginGuard{PasswordHash: "old-hash", MFAEnabled: true}, guard, "the guard is the state before the login")
	assert.Equal(t, "rehashed", rec.Rehash)
	assert.Equal(t, "rehashed", u.PasswordHash())
	require.NotNil(t, u.LastLoginAt())
	assert.Equal(t, behaviourNow, *u.LastLoginAt())
	assert.Equal(t, "192.0.2.1", u.LastLoginIP())
}

func TestLockedOnlyUntilTheLockEnds(t *testing.T) {
	until := behaviourNow.Add(10 * time.Minute)
	u := newTestUser(func(s *domain.UserState) { s.Lock.Until = &until })
	left, locked := u.Locked(behaviourNow)
	assert.True(t, locked)
	assert.Equal(t, 10*time.Minute, left)
	_, locked = u.Locked(until)
	assert.False(t, locked)
	assert.True(t, u.Unlock(behaviourNow))
	assert.False(t, u.Unlock(behaviourNow), "nothing left to lift")
}

func TestChangeAccessTellsWhenASystemAdminIsLost(t *testing.T) {
	f, tr := false, true
	cases := map[string]struct {
		admin, active bool
		setActive     *bool
		setAdmin      *bool
		loses         bool
		fields        []string
	}{
		"demotion":                     {admin: true, active: true, setAdmin: &f, loses: true, fields: []string{"is_system_admin"}},
		"deactivation":                 {admin: true, active: true, setActive: &f, loses: true, fields: []string{"is_active"}},
		"an inactive admin is no loss": {admin: true, active: false, setAdmin: &f, fields: []string{"is_system_admin"}},
		"a plain user is no loss":      {active: true, setActive: &f, fields: []string{"is_active"}},
		"no change, no fields":         {admin: true, active: true, setAdmin: &tr},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			u := newTestUser(func(s *domain.UserState) { s.IsSystemAdmin, s.IsActive = tc.admin, tc.active })
			ch := u.ChangeAccess(tc.setActive, tc.setAdmin, nil, behaviourNow)
			assert.Equal(t, tc.loses, ch.LosesSystemAdmin)
			assert.Equal(t, tc.fields, ch.Fields)
			assert.Equal(t, tc.setActive != nil && !*tc.setActive && tc.active, ch.Deactivated())
		})
	}
}

func TestChangeProfileValidatesAndReportsOnlyRealChanges(t *testing.T) {
	u := newTestUser(func(s *domain.UserState) { s.FirstName = "Ada" })
	same, other := "Ada", "Lovelace"
	ch, err := u.ChangeProfile(&same, &other, behaviourNow)
	require.NoError(t, err)
	assert.Equal(t, []string{"last_name"}, ch.Fields)
	assert.Nil(t, ch.FirstName, "an unchanged name is not written")
	bad := "bad\x00name"
	_, err = u.ChangeProfile(&bad, nil, behaviourNow)
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
	assert.Equal(t, "Lovelace", u.LastName(), "a refused change changes nothing")
}

func TestMFAStates(t *testing.T) {
	u := newTestUser(nil)
	_, err := u.EnableMFA(behaviourNow)
	assert.ErrorIs(t, err, domain.ErrMFANotSetUp)
	assert.ErrorIs(t, u.DisableMFA(behaviourNow), domain.ErrMFANotEnabled)
	require.NoError(t, u.StartMFASetup([]byte("secret"), behaviourNow))
	act, err := u.EnableMFA(behaviourNow)
	require.NoError(t, err)
	assert.Equal(t, []byte("secret"), act.Secret, "activation is guarded by the secret the code was checked against")
	assert.ErrorIs(t, u.StartMFASetup([]byte("other"), behaviourNow), domain.ErrMFAAlreadyEnabled, "the secret in use is never replaced")
	require.NoError(t, u.DisableMFA(behaviourNow))
	assert.False(t, u.MFAEnabled())
	assert.Empty(t, u.MFASecretSealed())
}

func TestConfirmEmailMovesOnlyToAnotherAddress(t *testing.T) {
	u := newTestUser(nil)
	ch, moved := u.ConfirmEmail(domain.MustEmail("ada@example.com"), behaviourNow)
	assert.False(t, moved)
	assert.True(t, u.EmailVerified())
	ch, moved = u.ConfirmEmail(domain.MustEmail("new@example.com"), behaviourNow)
	assert.True(t, moved)
	assert.Equal(t, "ada@example.com", ch.Previous.String())
	assert.Equal(t, "new@example.com", u.Email().String())
}

func TestStateRoundTripsThroughRehydrate(t *testing.T) {
	step := int64(7)
	u := newTestUser(func(s *domain.UserState) { s.MFA.LastUsedStep = &step })
	back := domain.RehydrateUser(u.State())
	assert.Equal(t, u.State(), back.State())
	s := back.State()
	*s.MFA.LastUsedStep = 99
	assert.Equal(t, int64(7), *back.MFALastUsedStep(), "state is a copy: editing it changes no user")
}

func TestLastAdminRules(t *testing.T) {
	assert.ErrorIs(t, domain.KeepSystemAdmin(1), domain.ErrLastSystemAdmin)
	assert.NoError(t, domain.KeepSystemAdmin(2))
	assert.ErrorIs(t, domain.KeepOrgAdmin(1), domain.ErrLastOrgAdmin)
	assert.NoError(t, domain.KeepOrgAdmin(2))

	me := uuid.New()
	m := domain.Membership{UserID: me, Role: domain.RoleViewer}
	_, err := m.CheckRoleChange(domain.RoleAdmin, me, false)
	assert.ErrorIs(t, err, domain.ErrOwnRoleUpgrade)
	_, err = m.CheckRoleChange(domain.RoleAdmin, me, true)
	assert.NoError(t, err, "a system admin may")
	loses, err := domain.Membership{Role: domain.RoleAdmin}.CheckRoleChange(domain.RoleMember, me, false)
	require.NoError(t, err)
	assert.True(t, loses)
}

func TestOrgChangeWritesOnlyWhatChanged(t *testing.T) {
	o := domain.Organization{ID: uuid.New(), Name: "Lab", Slug: "lab", IsActive: true}
	name, slug := "Lab", "new-lab"
	ch, err := o.Change(&name, &slug, nil, nil, behaviourNow)
	require.NoError(t, err)
	assert.Equal(t, []string{"slug"}, ch.Fields)
	assert.Equal(t, "new-lab", o.Slug)
	bad := "Bad Slug!"
	_, err = o.Change(nil, &bad, nil, nil, behaviourNow)
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
	assert.Equal(t, "new-lab", o.Slug, "a refused change changes nothing")
}
