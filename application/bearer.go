package application

import (
	"context"

	"github.com/ums-project/ums/domain"
)

// BearerScheme authenticates one kind of bearer credential besides a
// session's access token (a personal access token, a service account's
// token). Accepts must be cheap and must not touch the store: it only
// recognises the credential's shape.
type BearerScheme interface {
	Accepts(raw string) bool
	Authenticate(ctx context.Context, raw string) (domain.Principal, error)
}

// Bearer authenticates the API's bearer credentials: each scheme that
// recognises the credential decides, and a session's access token is the
// default.
type Bearer struct {
	sessions *Sessions
	schemes  []BearerScheme
}

// NewBearer wires the bearer check.
func NewBearer(sessions *Sessions, schemes ...BearerScheme) *Bearer {
	return &Bearer{sessions: sessions, schemes: schemes}
}

// Authenticate returns who the credential speaks for; any failure of the
// credential is domain.ErrInvalidToken.
func (b *Bearer) Authenticate(ctx context.Context, raw string) (domain.Principal, error) {
	for _, s := range b.schemes {
		if s.Accepts(raw) {
			return s.Authenticate(ctx, raw)
		}
	}
	return b.sessions.Authenticate(ctx, raw)
}

// PasswordChangeStillRequired is Sessions.PasswordChangeStillRequired.
func (b *Bearer) PasswordChangeStillRequired(ctx context.Context, p domain.Principal) (bool, error) {
	return b.sessions.PasswordChangeStillRequired(ctx, p)
}
