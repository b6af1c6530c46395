package application

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// AccessGrant is a new access token for an existing session.
type AccessGrant struct {
	AccessToken     string
	AccessExpiresIn time.Duration
	SessionID       uuid.UUID
}

// AccessFromRefresh issues an access token for the session of a refresh
// token without spending it: the old service's clients never store a new
// refresh token, so for them refreshing does not rotate. The session's
// limits still hold: the token's idle limit moves with each use but never
// past the session's absolute end, a spent token (reuse) or a revoked
// session is refused, and so is a deactivated user.
func (s *Sessions) AccessFromRefresh(ctx context.Context, raw string) (AccessGrant, error) {
	if raw == "" || len(raw) > maxRefreshTokenLen {
		return AccessGrant{}, domain.ErrInvalidToken
	}
	now := s.clock.Now()
	rt, err := s.store.RefreshTokenByHash(ctx, hashToken(raw))
	if err != nil {
		return AccessGrant{}, err
	}
	if rt.UsedAt != nil || !now.Before(rt.ExpiresAt) {
		return AccessGrant{}, domain.ErrInvalidToken
	}
	grant, sess, err := s.accessFor(ctx, rt.SessionID, now)
	if err != nil {
		return AccessGrant{}, err
	}
	idle := now.Add(s.cfg.RefreshIdleTTL)
	if idle.After(sess.ExpiresAt) {
		idle = sess.ExpiresAt
	}
	if _, err := s.store.ExtendRefreshToken(ctx, rt.ID, idle); err != nil {
		return AccessGrant{}, err
	}
	ri := domain.RequestInfoFrom(ctx)
	if err := s.store.Touch(ctx, sess.ID, now, ri.IP, truncate(ri.UserAgent, 512)); err != nil {
		return AccessGrant{}, err
	}
	return grant, nil
}

// AccessForSession issues an access token for an active session of an
// active user; anything else is domain.ErrInvalidToken.
func (s *Sessions) AccessForSession(ctx context.Context, sessionID uuid.UUID) (AccessGrant, error) {
	grant, _, err := s.accessFor(ctx, sessionID, s.clock.Now())
	return grant, err
}

func (s *Sessions) accessFor(ctx context.Context, sessionID uuid.UUID, now time.Time) (AccessGrant, domain.Session, error) {
	sess, err := s.store.ByID(ctx, sessionID)
	if errors.Is(err, domain.ErrSessionNotFound) {
		return AccessGrant{}, domain.Session{}, domain.ErrInvalidToken
	}
	if err != nil {
		return AccessGrant{}, domain.Session{}, err
	}
	if !sess.Active(now) {
		return AccessGrant{}, domain.Session{}, domain.ErrInvalidToken
	}
	user, err := s.users.ByID(ctx, sess.UserID)
	if domain.KindOf(err) == domain.KindNotFound {
		return AccessGrant{}, domain.Session{}, domain.ErrInvalidToken
	}
	if err != nil {
		return AccessGrant{}, domain.Session{}, err
	}
	if _, locked := user.Locked(now); !user.IsActive() || locked {
		return AccessGrant{}, domain.Session{}, domain.ErrInvalidToken
	}
	access, exp, err := s.accessToken(ctx, user, sess, now)
	if err != nil {
		return AccessGrant{}, domain.Session{}, err
	}
	return AccessGrant{AccessToken: access, AccessExpiresIn: exp.Sub(now), SessionID: sess.ID}, sess, nil
}

// OpenFor starts a session for a user whose identity another proof
// established (an old refresh token the old service signed), ending no
// later than until. Its refresh-token family starts with a token nobody
// holds: the session is reached through that proof, never refreshed with a
// token of ours. The session is audited as action.
func (s *Sessions) OpenFor(ctx context.Context, user *domain.User, until time.Time, action string) (domain.Session, error) {
	now := s.clock.Now()
	ri := domain.RequestInfoFrom(ctx)
	end := now.Add(s.cfg.SessionTTL)
	if until.Before(end) {
		end = until
	}
	sess := domain.Session{ID: s.ids.NewID(), UserID: user.ID(), CreatedAt: now, LastUsedAt: now, ExpiresAt: end,
		IP: ri.IP, UserAgent: truncate(ri.UserAgent, 512)}
	_, unheld, err := s.newRefreshToken(sess, now)
	if err != nil {
		return domain.Session{}, err
	}
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.store.Create(ctx, sess, unheld); err != nil {
			return err
		}
		ev := domain.NewAuditEvent(ctx, s.ids.NewID(), now, action, domain.OutcomeSuccess)
		ev.ActorID, ev.TargetType, ev.TargetID = ptr(user.ID()), "session", sess.ID.String()
		return s.audit.Record(ctx, ev)
	})
	if err != nil {
		return domain.Session{}, fmt.Errorf("open session: %w", err)
	}
	return sess, nil
}

// accessToken signs an access token for the session, never outliving it.
func (s *Sessions) accessToken(ctx context.Context, user *domain.User, sess domain.Session, now time.Time) (string, time.Time, error) {
	key, err := s.keys.Signing(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	exp := now.Add(s.cfg.AccessTTL)
	if exp.After(sess.ExpiresAt) {
		exp = sess.ExpiresAt
	}
	access, err := s.codec.Sign(domain.AccessClaims{
		Subject: user.ID(), SessionID: sess.ID, TokenID: s.ids.NewID().String(), IssuedAt: now, ExpiresAt: exp,
		PasswordChangeRequired: user.PasswordChangeRequired(now),
	}, key)
	return access, exp, err
}
