package application

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// TokenPair is what a login or refresh returns.
type TokenPair struct {
	AccessToken            string
	AccessExpiresIn        time.Duration
	RefreshToken           string
	RefreshExpiresIn       time.Duration
	SessionID              uuid.UUID
	PasswordChangeRequired bool
}

// refreshTokenBytes is the entropy of a refresh token: 256 bits.
const refreshTokenBytes = 32

// maxRefreshTokenLen bounds what is hashed at all.
const maxRefreshTokenLen = 128

// Refresh spends a refresh token and returns a new pair. A token spent
// before is reuse: the session is revoked (outside ReuseGrace) and
// domain.ErrRefreshTokenReused returned. Anything else wrong with the token
// is domain.ErrInvalidToken.
func (s *Sessions) Refresh(ctx context.Context, raw string) (TokenPair, error) {
	return s.refresh(ctx, raw, false)
}

// refresh is Refresh for the API (a client's session refused: its token
// would otherwise buy an API token with every right of the user, whatever
// scopes the client was given) or for the OpenID provider (client true).
func (s *Sessions) refresh(ctx context.Context, raw string, client bool) (TokenPair, error) {
	if raw == "" || len(raw) > maxRefreshTokenLen {
		return TokenPair{}, domain.ErrInvalidToken
	}
	hash := hashToken(raw)
	now := s.clock.Now()
	rt, sess, err := s.store.RefreshTokenWithSession(ctx, hash)
	if err != nil {
		return TokenPair{}, err
	}
	if !sess.Active(now) || (sess.ClientID != "") != client {
		return TokenPair{}, domain.ErrInvalidToken
	}
	if rt.UsedAt != nil {
		return TokenPair{}, s.reused(ctx, rt, sess, now)
	}
	if !now.Before(rt.ExpiresAt) {
		return TokenPair{}, domain.ErrInvalidToken
	}
	user, err := s.users.ByID(ctx, sess.UserID)
	if err != nil {
		if errors.Is(err, domain.ErrUserNotFound) {
			return TokenPair{}, domain.ErrInvalidToken
		}
		return TokenPair{}, err
	}
	if !user.IsActive() {
		return TokenPair{}, domain.ErrInvalidToken
	}
	newRaw, next, err := s.newRefreshToken(sess, now)
	if err != nil {
		return TokenPair{}, err
	}
	ri := domain.RequestInfoFrom(ctx)
	won, err := s.store.RotateRefreshToken(ctx, rt.ID, next, ri.IP, truncate(ri.UserAgent, 512))
	if err != nil {
		return TokenPair{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	if !won {
		// A concurrent refresh spent the token first (judge this one as
		// reuse, with the winner's spend time), or the session ended
		// meanwhile.
		if rt, sess, err = s.store.RefreshTokenWithSession(ctx, hash); err != nil {
			return TokenPair{}, err
		}
		if rt.UsedAt == nil {
			return TokenPair{}, domain.ErrInvalidToken
		}
		return TokenPair{}, s.reused(ctx, rt, sess, now)
	}
	return s.pair(ctx, user, sess, newRaw, next, now)
}

func (s *Sessions) reused(ctx context.Context, rt domain.RefreshToken, sess domain.Session, now time.Time) error {
	if s.cfg.ReuseGrace > 0 && rt.UsedAt != nil && now.Sub(*rt.UsedAt) <= s.cfg.ReuseGrace {
		ev := domain.NewAuditEvent(ctx, s.ids.NewID(), now, domain.ActionRefreshReused, domain.OutcomeFailure)
		ev.ActorID, ev.TargetType, ev.TargetID = &sess.UserID, "session", sess.ID.String()
		ev.Details = map[string]any{"within_grace": true, "session_revoked": false}
		if err := s.audit.Record(ctx, ev); err != nil {
			return err
		}
		return domain.ErrRefreshTokenReused
	}
	if err := s.revoker.endSessions(ctx, sess.UserID, []uuid.UUID{sess.ID}, domain.RevokeRefreshReuse, domain.ActionRefreshReused,
		map[string]any{"within_grace": false, "session_revoked": true}); err != nil {
		return err
	}
	return domain.ErrRefreshTokenReused
}

func (s *Sessions) pair(ctx context.Context, user *domain.User, sess domain.Session, raw string, rt domain.RefreshToken, now time.Time) (TokenPair, error) {
	access, exp, err := s.accessToken(ctx, user, sess, now)
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{
		AccessToken: access, AccessExpiresIn: exp.Sub(now),
		RefreshToken: raw, RefreshExpiresIn: rt.ExpiresAt.Sub(now),
		SessionID:              sess.ID,
		PasswordChangeRequired: user.PasswordChangeRequired(now),
	}, nil
}

func (s *Sessions) newRefreshToken(sess domain.Session, now time.Time) (string, domain.RefreshToken, error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := io.ReadFull(s.random, b); err != nil {
		return "", domain.RefreshToken{}, fmt.Errorf("refresh token randomness: %w", err)
	}
	raw := base64.RawURLEncoding.EncodeToString(b)
	exp := now.Add(s.cfg.RefreshIdleTTL)
	if exp.After(sess.ExpiresAt) {
		exp = sess.ExpiresAt
	}
	return raw, domain.RefreshToken{ID: s.ids.NewID(), SessionID: sess.ID, Hash: hashToken(raw), CreatedAt: now, ExpiresAt: exp}, nil
}

func hashToken(raw string) []byte {
	sum := sha256.Sum256([]byte(raw))
	return sum[:]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
