package application

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// The sessions a client gets are UMS sessions: its refresh tokens rotate
// with reuse detection, and revoking the session (logout-all, an admin, a
// password reset, on any instance) ends its access tokens too. The access
// token's id is the session's id.

// SignIn is what a client's tokens stand for.
type SignIn struct {
	UserID   uuid.UUID
	ClientID string
	Scopes   []string
	AuthTime time.Time
	AMR      []string
}

// IssueTokens opens a session for the client and returns its id (the
// access token's id), its first refresh token and when the access token
// expires.
func (s *SignOn) IssueTokens(ctx context.Context, in SignIn) (uuid.UUID, string, time.Time, error) {
	raw, sess, err := s.sessions.Issue(ctx, in.UserID, func(ctx context.Context, sess domain.Session) error {
		g := domain.OAuthGrant{SessionID: sess.ID, ClientID: in.ClientID, Scopes: in.Scopes, AuthTime: in.AuthTime, AMR: in.AMR}
		if err := s.grants.Create(ctx, g); err != nil {
			return err
		}
		ev := domain.NewAuditEvent(ctx, s.ids.NewID(), sess.CreatedAt, domain.ActionOAuthTokenIssued, domain.OutcomeSuccess)
		ev.ActorID, ev.TargetType, ev.TargetID = &in.UserID, "session", sess.ID.String()
		ev.Details = map[string]any{"client_id": in.ClientID, "scopes": in.Scopes}
		return s.audit.Record(ctx, ev)
	})
	if err != nil {
		return uuid.Nil, "", time.Time{}, err
	}
	return sess.ID, raw, s.accessExpiry(sess), nil
}

func (s *SignOn) accessExpiry(sess domain.Session) time.Time {
	exp := s.clock.Now().Add(s.sessions.AccessTTL())
	if exp.After(sess.ExpiresAt) {
		exp = sess.ExpiresAt
	}
	return exp
}

// InspectRefresh tells what a refresh token stands for without spending
// it. A spent token is reuse and revokes its session, as on the API.
func (s *SignOn) InspectRefresh(ctx context.Context, raw string) (SignIn, error) {
	if raw == "" || len(raw) > maxRefreshTokenLen {
		return SignIn{}, domain.ErrInvalidToken
	}
	now := s.clock.Now()
	rt, sess, err := s.sessions.store.RefreshTokenWithSession(ctx, hashToken(raw))
	if err != nil {
		return SignIn{}, err
	}
	if !sess.Active(now) || sess.ClientID == "" {
		// An API session's token is not a client's.
		return SignIn{}, domain.ErrInvalidToken
	}
	if rt.UsedAt != nil {
		return SignIn{}, s.sessions.reused(ctx, rt, sess, now)
	}
	if !now.Before(rt.ExpiresAt) {
		return SignIn{}, domain.ErrInvalidToken
	}
	g, err := s.grants.BySession(ctx, sess.ID)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			// A session of the API's own login, not a client's.
			return SignIn{}, domain.ErrInvalidToken
		}
		return SignIn{}, err
	}
	return SignIn{UserID: sess.UserID, ClientID: g.ClientID, Scopes: g.Scopes, AuthTime: g.AuthTime, AMR: g.AMR}, nil
}

// RotateRefresh spends a refresh token for its successor, exactly as the
// API's refresh does (one winner among concurrent spends, reuse revokes).
func (s *SignOn) RotateRefresh(ctx context.Context, raw string) (uuid.UUID, string, time.Time, error) {
	pair, err := s.sessions.refresh(ctx, raw, true)
	if err != nil {
		return uuid.Nil, "", time.Time{}, err
	}
	return pair.SessionID, pair.RefreshToken, s.clock.Now().Add(pair.AccessExpiresIn), nil
}

// TokenSignIn returns what a live access token's session stands for: its
// session must be unrevoked (on every instance) and unexpired and its
// account active.
func (s *SignOn) TokenSignIn(ctx context.Context, tokenID string) (SignIn, error) {
	sid, err := uuid.Parse(tokenID)
	if err != nil {
		return SignIn{}, domain.ErrInvalidToken
	}
	revoked, err := s.sessions.revoked.IsRevoked(ctx, sid)
	if err != nil {
		return SignIn{}, err
	}
	if revoked {
		return SignIn{}, domain.ErrInvalidToken
	}
	g, err := s.grants.BySession(ctx, sid)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return SignIn{}, domain.ErrInvalidToken
		}
		return SignIn{}, err
	}
	sess, err := s.sessions.store.ByID(ctx, sid)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return SignIn{}, domain.ErrInvalidToken
		}
		return SignIn{}, err
	}
	if !sess.Active(s.clock.Now()) {
		return SignIn{}, domain.ErrInvalidToken
	}
	u, err := s.sessions.users.ByID(ctx, sess.UserID)
	if err != nil || !u.IsActive() {
		return SignIn{}, domain.ErrInvalidToken
	}
	return SignIn{UserID: sess.UserID, ClientID: g.ClientID, Scopes: g.Scopes, AuthTime: g.AuthTime, AMR: g.AMR}, nil
}

// RevokeByRefresh ends the session of a refresh token presented by the
// client it was issued to (RFC 7009). A token that is unknown or another
// client's is ignored, as the RFC asks.
func (s *SignOn) RevokeByRefresh(ctx context.Context, raw, clientID string) error {
	if raw == "" || len(raw) > maxRefreshTokenLen {
		return nil
	}
	_, sess, err := s.sessions.store.RefreshTokenWithSession(ctx, hashToken(raw))
	if err != nil {
		if errors.Is(err, domain.ErrInvalidToken) || domain.KindOf(err) == domain.KindNotFound {
			return nil
		}
		return err
	}
	return s.revokeClientSession(ctx, sess.ID, sess.UserID, clientID)
}

// RevokeByTokenID ends the session of an access token presented by its
// client.
func (s *SignOn) RevokeByTokenID(ctx context.Context, tokenID, clientID string) error {
	sid, err := uuid.Parse(tokenID)
	if err != nil {
		return nil
	}
	sess, err := s.sessions.store.ByID(ctx, sid)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return nil
		}
		return err
	}
	return s.revokeClientSession(ctx, sid, sess.UserID, clientID)
}

func (s *SignOn) revokeClientSession(ctx context.Context, sid, userID uuid.UUID, clientID string) error {
	g, err := s.grants.BySession(ctx, sid)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return nil
		}
		return err
	}
	if g.ClientID != clientID {
		return nil
	}
	return s.sessions.revoker.EndSession(ctx, userID, sid, domain.RevokeByUser)
}

// EndClientSessions ends the user's sessions issued to the client (the
// client's logout).
func (s *SignOn) EndClientSessions(ctx context.Context, userID uuid.UUID, clientID string) error {
	ids, err := s.grants.ActiveSessions(ctx, userID, clientID)
	if err != nil || len(ids) == 0 {
		return err
	}
	return s.sessions.revoker.endSessions(ctx, userID, ids, domain.RevokeLogout, domain.ActionOAuthSignedOut,
		map[string]any{"client_id": clientID})
}

// UserClaims are the facts about a user a client may read, by scope.
type UserClaims struct {
	Subject       uuid.UUID
	Email         string
	EmailVerified bool
	Name          string
	GivenName     string
	FamilyName    string
	Username      string
	UpdatedAt     time.Time
	// Orgs are the user's organizations and roles (scope "orgs").
	Orgs []OrgClaim
}

// OrgClaim is one organization in the "orgs" claim.
type OrgClaim struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// Claims returns the user's claims; the organizations are read only when
// withOrgs.
func (s *SignOn) Claims(ctx context.Context, userID uuid.UUID, withOrgs bool) (UserClaims, error) {
	u, err := s.sessions.users.ByID(ctx, userID)
	if err != nil {
		return UserClaims{}, err
	}
	name := u.FirstName()
	if u.LastName() != "" {
		if name != "" {
			name += " "
		}
		name += u.LastName()
	}
	c := UserClaims{Subject: u.ID(), Email: u.Email().String(), EmailVerified: u.EmailVerified(), Name: name,
		GivenName: u.FirstName(), FamilyName: u.LastName(), Username: u.Username().String(), UpdatedAt: u.UpdatedAt()}
	if withOrgs {
		orgs, err := s.dir.memberships(ctx, userID)
		if err != nil {
			return UserClaims{}, err
		}
		c.Orgs = make([]OrgClaim, 0, len(orgs))
		for _, o := range orgs {
			if o.Org.IsActive {
				c.Orgs = append(c.Orgs, OrgClaim{ID: o.Org.ID.String(), Slug: o.Org.Slug, Name: o.Org.Name, Role: string(o.Role)})
			}
		}
	}
	return c, nil
}

// RefreshTokenUser returns the owner of a refresh token, spent or not,
// without touching it; domain.ErrInvalidToken when it is unknown.
func (s *SignOn) RefreshTokenUser(ctx context.Context, raw string) (uuid.UUID, error) {
	if raw == "" || len(raw) > maxRefreshTokenLen {
		return uuid.Nil, domain.ErrInvalidToken
	}
	_, sess, err := s.sessions.store.RefreshTokenWithSession(ctx, hashToken(raw))
	if err != nil {
		return uuid.Nil, err
	}
	return sess.UserID, nil
}
