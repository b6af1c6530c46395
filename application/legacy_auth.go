package application

import (
	"context"
	"errors"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// Errors of tokens presented where the old service's JWT layer refused
// them; the legacy API renders them its way.
var (
	// ErrRefreshTokenNotAllowed is a refresh token on a route that takes
	// access tokens.
	ErrRefreshTokenNotAllowed = &domain.Error{Kind: domain.KindUnauthorized, Code: "refresh_token_not_allowed",
		Message: "only non-refresh tokens are allowed"}
	// ErrAccessTokenNotAllowed is an access token where a refresh token
	// belongs.
	ErrAccessTokenNotAllowed = &domain.Error{Kind: domain.KindUnauthorized, Code: "access_token_not_allowed",
		Message: "only refresh tokens are allowed"}
)

// Audit actions of the cutover.
const (
	// ActionLegacyTokenExchanged is an old refresh token exchanged for a
	// UMS session.
	ActionLegacyTokenExchanged = "auth.legacy_refresh_exchanged"
)

// LegacyAuth keeps the old service's clients signed in through the
// cutover: tokens it issued before the switch (HS256 with its secret) are
// honoured until they expire, each checked against the account as it is
// now. Without the old secret (a nil verifier) old tokens are simply
// invalid, and their users sign in once more.
type LegacyAuth struct {
	verifier ports.LegacyTokenVerifier
	ids      ports.LegacyIDs
	links    ports.LegacySessionLinks
	users    ports.UserRepository
	sessions *Sessions
	revoker  *Revoker
	clock    ports.Clock
}

// NewLegacyAuth wires the cutover's token handling; verifier may be nil.
func NewLegacyAuth(verifier ports.LegacyTokenVerifier, ids ports.LegacyIDs, links ports.LegacySessionLinks,
	users ports.UserRepository, sessions *Sessions, revoker *Revoker, clock ports.Clock,
) *LegacyAuth {
	return &LegacyAuth{verifier: verifier, ids: ids, links: links, users: users, sessions: sessions, revoker: revoker, clock: clock}
}

// Authenticate accepts an old access token as is, for an account that is
// still active and not locked; it speaks for no session of ours. A
// refresh token is ErrRefreshTokenNotAllowed; anything else wrong is
// domain.ErrInvalidToken.
func (a *LegacyAuth) Authenticate(ctx context.Context, token string) (domain.Principal, error) {
	c, err := a.verify(token)
	if err != nil {
		return domain.Principal{}, err
	}
	if c.Type != "access" {
		return domain.Principal{}, ErrRefreshTokenNotAllowed
	}
	u, err := a.account(ctx, c)
	if err != nil {
		return domain.Principal{}, err
	}
	return domain.Principal{UserID: u.ID(), ExpiresAt: c.ExpiresAt,
		PasswordChangeRequired: u.PasswordChangeRequired(a.clock.Now())}, nil
}

// Refresh exchanges an old refresh token for an access token of a UMS
// session: the first presentation opens the session (ending when the old
// token would have), every later one lands in the same session, so a
// logout-all or an erasure ends the old token too. An access token is
// ErrAccessTokenNotAllowed.
func (a *LegacyAuth) Refresh(ctx context.Context, token string) (AccessGrant, error) {
	c, err := a.verify(token)
	if err != nil {
		return AccessGrant{}, err
	}
	if c.Type != "refresh" {
		return AccessGrant{}, ErrAccessTokenNotAllowed
	}
	hash := hashToken(token)
	if id, ok, err := a.links.Session(ctx, hash); err != nil || ok {
		if err != nil {
			return AccessGrant{}, err
		}
		return a.sessions.AccessForSession(ctx, id)
	}
	u, err := a.account(ctx, c)
	if err != nil {
		return AccessGrant{}, err
	}
	sess, err := a.sessions.OpenFor(ctx, u, c.ExpiresAt, ActionLegacyTokenExchanged)
	if err != nil {
		return AccessGrant{}, err
	}
	// A concurrent presentation may have linked its own session first:
	// both then use that one.
	id, err := a.links.Link(ctx, hash, sess.ID, a.clock.Now())
	if err != nil {
		return AccessGrant{}, err
	}
	if id != sess.ID {
		// Nobody can reach the session that lost; it must not linger in
		// the user's list.
		if err := a.revoker.EndSession(ctx, u.ID(), sess.ID, domain.RevokeDuplicate); err != nil {
			return AccessGrant{}, err
		}
	}
	return a.sessions.AccessForSession(ctx, id)
}

func (a *LegacyAuth) verify(token string) (ports.LegacyClaims, error) {
	if a.verifier == nil {
		return ports.LegacyClaims{}, domain.ErrInvalidToken
	}
	return a.verifier.Verify(token, a.clock.Now())
}

// account is the token's user as it is now: an erased, deactivated or
// locked account's old tokens stop working.
func (a *LegacyAuth) account(ctx context.Context, c ports.LegacyClaims) (*domain.User, error) {
	id, err := a.ids.NewID(ctx, ports.LegacyIDUser, c.Subject)
	if errors.Is(err, domain.ErrUserNotFound) {
		return nil, domain.ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	u, err := a.users.ByID(ctx, id)
	if domain.KindOf(err) == domain.KindNotFound {
		return nil, domain.ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	if _, locked := u.Locked(a.clock.Now()); !u.IsActive() || locked {
		return nil, domain.ErrInvalidToken
	}
	return u, nil
}
