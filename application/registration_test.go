package application_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// memDB is the committed state behind the fake repository, audit log and
// transaction manager. A failing transaction restores the state it started
// from, as a real database would.
type memDB struct {
	mu     sync.Mutex
	users  map[uuid.UUID]domain.User
	events []domain.AuditEvent
	// createInTx and recordInTx remember whether each write saw a transaction.
	createInTx []bool
	recordInTx []bool
	// failRecord, when set, is returned by the audit log.
	failRecord error
}

func newMemDB() *memDB { return &memDB{users: map[uuid.UUID]domain.User{}} }

type txKey struct{}

func inTx(ctx context.Context) bool { return ctx.Value(txKey{}) != nil }

// fakeTx implements ports.TxManager over memDB.
type fakeTx struct{ db *memDB }

func (f fakeTx) WithinTx(ctx context.Context, fn func(ctx context.Context) error) error {
	f.db.mu.Lock()
	users := make(map[uuid.UUID]domain.User, len(f.db.users))
	for k, v := range f.db.users {
		users[k] = v
	}
	events := append([]domain.AuditEvent(nil), f.db.events...)
	f.db.mu.Unlock()

	err := fn(context.WithValue(ctx, txKey{}, true))
	if err != nil {
		f.db.mu.Lock()
		f.db.users, f.db.events = users, events
		f.db.mu.Unlock()
	}
	return err
}

// fakeUsers implements ports.UserRepository over memDB.
type fakeUsers struct{ db *memDB }

func (f fakeUsers) Create(ctx context.Context, u *domain.User) error {
	f.db.mu.Lock()
	defer f.db.mu.Unlock()
	f.db.createInTx = append(f.db.createInTx, inTx(ctx))
	for _, o := range f.db.users {
		if o.Email() == u.Email() {
			return fmt.Errorf("insert user: %w", domain.ErrEmailTaken)
		}
		if o.Username().Normalized() == u.Username().Normalized() {
			return fmt.Errorf("insert user: %w", domain.ErrUsernameTaken)
		}
	}
	f.db.users[u.ID()] = *u
	return nil
}

func (f fakeUsers) ByID(_ context.Context, id uuid.UUID) (*domain.User, error) {
	f.db.mu.Lock()
	defer f.db.mu.Unlock()
	u, ok := f.db.users[id]
	if !ok {
		return nil, domain.ErrUserNotFound
	}
	return &u, nil
}

func (f fakeUsers) ByLogin(_ context.Context, login string) (*domain.User, error) {
	f.db.mu.Lock()
	defer f.db.mu.Unlock()
	login = strings.ToLower(strings.TrimSpace(login))
	for _, u := range f.db.users {
		if u.Email().String() == login || u.Username().Normalized() == login {
			return &u, nil
		}
	}
	return nil, domain.ErrUserNotFound
}

// fakeAudit implements ports.AuditLog over memDB.
type fakeAudit struct{ db *memDB }

func (f fakeAudit) Record(ctx context.Context, e domain.AuditEvent) error {
	f.db.mu.Lock()
	defer f.db.mu.Unlock()
	f.db.recordInTx = append(f.db.recordInTx, inTx(ctx))
	if f.db.failRecord != nil {
		return f.db.failRecord
	}
	f.db.events = append(f.db.events, e)
	return nil
}

// fakeHasher returns an opaque value unrelated to the password, so a test
// can tell the hash from the password.
type fakeHasher struct {
	mu        sync.Mutex
	passwords []string
	err       error
}

const fakeHash = "$fake$v=1$opaque-hash"

func (h *fakeHasher) Hash(_ context.Context, password string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.passwords = append(h.passwords, password)
	if h.err != nil {
		return "", h.err
	}
	return fakeHash, nil
}

func (h *fakeHasher) Verify(context.Context, string, string) (bool, bool, error) {
	return false, false, errors.New("not used by registration")
}

func (h *fakeHasher) Admit() (func(), error) { return func() {}, nil }

func (h *fakeHasher) CurrentPrefix() string { return "$fake$v=1$" }

func (h *fakeHasher) calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.passwords)
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// seqIDs hands out 00000000-0000-0000-0000-000000000001, …0002 and so on.
type seqIDs struct {
	mu sync.Mutex
	n  byte
}

func (g *seqIDs) NewID() uuid.UUID {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	var id uuid.UUID
	id[15] = g.n
	return id
}

var (
	_ ports.UserRepository = fakeUsers{}
	_ ports.TxManager      = fakeTx{}
	_ ports.AuditLog       = fakeAudit{}
	_ ports.PasswordHasher = (*fakeHasher)(nil)
	_ ports.Clock          = fixedClock{}
	_ ports.IDGenerator    = (*seqIDs)(nil)
)

var testNow = time.Date(2025, 6, 1, 9, 30, 0, 0, time.UTC)

type fixture struct {
	db     *memDB
	hasher *fakeHasher
	reg    *application.Registration
}

func newFixture(cfg application.PasswordConfig) *fixture {
	db := newMemDB()
	h := &fakeHasher{}
	reg := application.NewRegistration(fakeUsers{db}, fakeTx{db}, h, fakeAudit{db}, fixedClock{testNow}, &seqIDs{}, cfg, nil)
	return &fixture{db: db, hasher: h, reg: reg}
}

func defaultConfig() application.PasswordConfig {
	return application.PasswordConfig{Policy: domain.DefaultPasswordPolicy()}
}

func validInput() application.RegisterInput {
	return application.RegisterInput{
		Email:     " Ada.Lovelace@Example.com ",
		Username:  "AdaL",
		Password:  "analytical engine 1843",
		FirstName: " Ada ",
		LastName:  "Lovelace",
	}
}

func (f *fixture) users() []domain.User {
	f.db.mu.Lock()
	defer f.db.mu.Unlock()
	out := make([]domain.User, 0, len(f.db.users))
	for _, u := range f.db.users {
		out = append(out, u)
	}
	return out
}

func (f *fixture) events() []domain.AuditEvent {
	f.db.mu.Lock()
	defer f.db.mu.Unlock()
	return append([]domain.AuditEvent(nil), f.db.events...)
}

func TestRegister(t *testing.T) {
	t.Parallel()

	t.Run("creates_an_active_user_with_normalised_identity", func(t *testing.T) {
		t.Parallel()
		f := newFixture(defaultConfig())
		u, err := f.reg.Register(context.Background(), validInput())
		require.NoError(t, err)

		assert.Equal(t, "ada.lovelace@example.com", u.Email().String())
		assert.Equal(t, "AdaL", u.Username().String())
		assert.Equal(t, "Ada", u.FirstName())
		assert.Equal(t, "Lovelace", u.LastName())
		assert.True(t, u.IsActive())
		assert.False(t, u.IsSystemAdmin())
		assert.False(t, u.EmailVerified())
		assert.Equal(t, testNow, u.CreatedAt())
		assert.Equal(t, testNow, u.PasswordChangedAt())
		assert.Nil(t, u.PasswordExpiresAt())
		assert.NotEqual(t, uuid.Nil, u.ID())

		stored := f.users()
		require.Len(t, stored, 1)
		assert.Equal(t, *u, stored[0], "the returned user is the stored one")
	})

	t.Run("records_exactly_one_audit_event_with_request_info", func(t *testing.T) {
		t.Parallel()
		f := newFixture(defaultConfig())
		ri := domain.RequestInfo{IP: "203.0.113.7", UserAgent: "curl/8.5", RequestID: "req-42"}
		ctx := domain.WithRequestInfo(context.Background(), ri)

		u, err := f.reg.Register(ctx, validInput())
		require.NoError(t, err)

		events := f.events()
		require.Len(t, events, 1)
		ev := events[0]
		assert.Equal(t, domain.ActionUserRegistered, ev.Action)
		assert.Equal(t, "user.registered", ev.Action)
		assert.Equal(t, domain.OutcomeSuccess, ev.Outcome)
		assert.Equal(t, "user", ev.TargetType)
		assert.Equal(t, u.ID().String(), ev.TargetID)
		require.NotNil(t, ev.ActorID)
		assert.Equal(t, u.ID(), *ev.ActorID, "a self-registration is performed by the new user")
		assert.Equal(t, testNow, ev.OccurredAt)
		assert.Equal(t, ri.IP, ev.IP)
		assert.Equal(t, ri.UserAgent, ev.UserAgent)
		assert.Equal(t, ri.RequestID, ev.RequestID)
		assert.NotEqual(t, uuid.Nil, ev.ID)
		assert.NotEqual(t, u.ID(), ev.ID, "the event has its own id")
		assert.NotContains(t, fmt.Sprintf("%+v", ev), validInput().Password, "no secret in the audit trail")
	})

	t.Run("writes_user_and_audit_in_one_transaction", func(t *testing.T) {
		t.Parallel()
		f := newFixture(defaultConfig())
		_, err := f.reg.Register(context.Background(), validInput())
		require.NoError(t, err)
		assert.Equal(t, []bool{true}, f.db.createInTx)
		assert.Equal(t, []bool{true}, f.db.recordInTx)
	})

	t.Run("stores_the_hashers_output_never_the_password", func(t *testing.T) {
		t.Parallel()
		f := newFixture(defaultConfig())
		in := validInput()
		u, err := f.reg.Register(context.Background(), in)
		require.NoError(t, err)

		assert.Equal(t, []string{in.Password}, f.hasher.passwords, "hashed exactly once, the password as typed")
		assert.Equal(t, fakeHash, u.PasswordHash())
		stored := f.users()
		require.Len(t, stored, 1)
		assert.Equal(t, fakeHash, stored[0].PasswordHash())
		assert.NotContains(t, fmt.Sprintf("%+v", stored[0]), in.Password)
	})

	t.Run("sets_password_expiry_when_max_age_is_positive", func(t *testing.T) {
		t.Parallel()
		cfg := defaultConfig()
		cfg.MaxAge = 90 * 24 * time.Hour
		f := newFixture(cfg)
		u, err := f.reg.Register(context.Background(), validInput())
		require.NoError(t, err)
		require.NotNil(t, u.PasswordExpiresAt())
		assert.Equal(t, testNow.Add(90*24*time.Hour), *u.PasswordExpiresAt())
		stored := f.users()
		require.Len(t, stored, 1)
		require.NotNil(t, stored[0].PasswordExpiresAt())
		assert.Equal(t, testNow.Add(90*24*time.Hour), *stored[0].PasswordExpiresAt())
	})

	t.Run("invalid_input_lists_every_broken_field_and_never_hashes", func(t *testing.T) {
		t.Parallel()
		f := newFixture(defaultConfig())
		_, err := f.reg.Register(context.Background(), application.RegisterInput{
			Email:     "Ada <ada@example.com>",
			Username:  "-ada",
			Password:  "short",
			FirstName: strings.Repeat("a", 101),
			LastName:  "Love\x00lace",
		})
		require.Error(t, err)

		var de *domain.Error
		require.ErrorAs(t, err, &de)
		assert.Equal(t, domain.KindInvalid, de.Kind)
		assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		assert.ElementsMatch(t, []string{
			"email:invalid_email",
			"username:invalid_username",
			"first_name:too_long",
			"last_name:invalid_characters",
			"password:too_short",
		}, fieldCodes(de.Fields))

		assert.Zero(t, f.hasher.calls(), "a rejected request must not cost a hash")
		assert.Empty(t, f.users())
		assert.Empty(t, f.events())
	})

	t.Run("missing_fields_are_required", func(t *testing.T) {
		t.Parallel()
		f := newFixture(defaultConfig())
		_, err := f.reg.Register(context.Background(), application.RegisterInput{})
		var de *domain.Error
		require.ErrorAs(t, err, &de)
		assert.ElementsMatch(t, []string{"email:required", "username:required", "password:required"}, fieldCodes(de.Fields))
		assert.Zero(t, f.hasher.calls())
	})

	t.Run("password_must_not_contain_username_or_email", func(t *testing.T) {
		t.Parallel()
		f := newFixture(defaultConfig())
		in := validInput()
		in.Password = "ADAL-and-ada.lovelace-2025"
		_, err := f.reg.Register(context.Background(), in)
		var de *domain.Error
		require.ErrorAs(t, err, &de)
		assert.ElementsMatch(t, []string{"password:contains_username", "password:contains_email"}, fieldCodes(de.Fields))
		assert.Zero(t, f.hasher.calls())
	})

	t.Run("applies_the_configured_policy", func(t *testing.T) {
		t.Parallel()
		cfg := defaultConfig()
		cfg.Policy.RequireClasses = 4
		f := newFixture(cfg)
		_, err := f.reg.Register(context.Background(), validInput())
		var de *domain.Error
		require.ErrorAs(t, err, &de)
		assert.Equal(t, []string{"password:too_few_character_classes"}, fieldCodes(de.Fields))
	})

	t.Run("duplicate_email_is_email_taken_and_keeps_no_audit_event", func(t *testing.T) {
		t.Parallel()
		f := newFixture(defaultConfig())
		_, err := f.reg.Register(context.Background(), validInput())
		require.NoError(t, err)

		in := validInput()
		in.Email = "ADA.LOVELACE@example.com"
		in.Username = "someone-else"
		_, err = f.reg.Register(context.Background(), in)
		require.ErrorIs(t, err, domain.ErrEmailTaken)
		assert.Equal(t, domain.KindConflict, domain.KindOf(err))

		assert.Len(t, f.users(), 1)
		events := f.events()
		require.Len(t, events, 1, "only the first registration is audited")
		assert.Equal(t, domain.ActionUserRegistered, events[0].Action)
	})

	t.Run("duplicate_username_is_username_taken", func(t *testing.T) {
		t.Parallel()
		f := newFixture(defaultConfig())
		_, err := f.reg.Register(context.Background(), validInput())
		require.NoError(t, err)

		in := validInput()
		in.Email = "someone@example.com"
		in.Username = "adal"
		_, err = f.reg.Register(context.Background(), in)
		require.ErrorIs(t, err, domain.ErrUsernameTaken)
		assert.Len(t, f.users(), 1)
		assert.Len(t, f.events(), 1)
	})

	t.Run("failed_audit_rolls_back_the_user", func(t *testing.T) {
		t.Parallel()
		f := newFixture(defaultConfig())
		boom := errors.New("audit table unavailable")
		f.db.failRecord = boom
		_, err := f.reg.Register(context.Background(), validInput())
		require.ErrorIs(t, err, boom)
		assert.Equal(t, domain.KindInternal, domain.KindOf(err))
		assert.Empty(t, f.users(), "no account without its audit record")
		assert.Empty(t, f.events())
	})

	t.Run("hasher_overload_propagates", func(t *testing.T) {
		t.Parallel()
		f := newFixture(defaultConfig())
		f.hasher.err = domain.ErrHashingOverloaded
		_, err := f.reg.Register(context.Background(), validInput())
		require.ErrorIs(t, err, domain.ErrHashingOverloaded)
		assert.Equal(t, domain.KindUnavailable, domain.KindOf(err))
		var de *domain.Error
		require.ErrorAs(t, err, &de)
		assert.Positive(t, de.RetryAfter, "the client learns when to retry")
		assert.Empty(t, f.users())
		assert.Empty(t, f.events())
		assert.Empty(t, f.db.createInTx, "nothing is written after a failed hash")
	})
}

func TestCreateAdmin(t *testing.T) {
	t.Parallel()

	t.Run("creates_a_system_admin_and_audits_admin_created", func(t *testing.T) {
		t.Parallel()
		f := newFixture(defaultConfig())
		u, err := f.reg.CreateAdmin(context.Background(), validInput())
		require.NoError(t, err)
		assert.True(t, u.IsSystemAdmin())
		assert.True(t, u.IsActive())
		assert.Equal(t, fakeHash, u.PasswordHash())

		stored := f.users()
		require.Len(t, stored, 1)
		assert.True(t, stored[0].IsSystemAdmin())

		events := f.events()
		require.Len(t, events, 1)
		ev := events[0]
		assert.Equal(t, "user.admin_created", ev.Action)
		assert.Equal(t, domain.ActionAdminCreated, ev.Action)
		assert.Equal(t, domain.OutcomeSuccess, ev.Outcome)
		assert.Equal(t, "user", ev.TargetType)
		assert.Equal(t, u.ID().String(), ev.TargetID)
		assert.Nil(t, ev.ActorID, "the operator at the CLI is not a user")
		assert.Empty(t, ev.IP, "a CLI call carries no request info")
		assert.Empty(t, ev.RequestID)
	})

	t.Run("uses_the_same_validation", func(t *testing.T) {
		t.Parallel()
		f := newFixture(defaultConfig())
		in := validInput()
		in.Password = "password1234"
		_, err := f.reg.CreateAdmin(context.Background(), in)
		var de *domain.Error
		require.ErrorAs(t, err, &de)
		assert.Equal(t, []string{"password:too_common"}, fieldCodes(de.Fields))
		assert.Zero(t, f.hasher.calls())
		assert.Empty(t, f.users())
	})

	t.Run("register_never_creates_an_admin", func(t *testing.T) {
		t.Parallel()
		f := newFixture(defaultConfig())
		u, err := f.reg.Register(context.Background(), validInput())
		require.NoError(t, err)
		assert.False(t, u.IsSystemAdmin())
	})
}

// fieldCodes renders field errors as "field:code" for order-free comparison.
func fieldCodes(fields []domain.FieldError) []string {
	out := make([]string, 0, len(fields))
	for _, fe := range fields {
		out = append(out, fe.Field+":"+fe.Code)
	}
	return out
}
