package application

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// SignOn is UMS as an OpenID Connect provider, seen from the use cases:
// the browser's session on the hosted sign-in page, the authorization
// requests waiting for it, and the sessions issued to clients. The
// protocol itself (parameters, PKCE, token formats) is the OpenID
// library's, in the oidc adapter.
type SignOn struct {
	clients  ports.OAuthClientRepository
	requests ports.AuthRequestRepository
	grants   ports.OAuthGrantRepository
	consents ports.ConsentRepository
	sessions *Sessions
	dir      *Directory
	box      ports.SecretBox
	audit    ports.AuditLog
	clock    ports.Clock
	ids      ports.IDGenerator
	cfg      SignOnConfig
}

// SignOnDeps are what SignOn needs.
type SignOnDeps struct {
	Clients   ports.OAuthClientRepository
	Requests  ports.AuthRequestRepository
	Grants    ports.OAuthGrantRepository
	Consents  ports.ConsentRepository
	Sessions  *Sessions
	Directory *Directory
	Box       ports.SecretBox
	Audit     ports.AuditLog
	Clock     ports.Clock
	IDs       ports.IDGenerator
}

// SignOnConfig are the lifetimes of the provider's state.
type SignOnConfig struct {
	// RequestTTL bounds the time from the client's redirect to the code
	// exchange.
	RequestTTL time.Duration
}

// NewSignOn wires the provider's use cases.
func NewSignOn(d SignOnDeps, cfg SignOnConfig) *SignOn {
	if cfg.RequestTTL <= 0 {
		cfg.RequestTTL = 10 * time.Minute
	}
	return &SignOn{clients: d.Clients, requests: d.Requests, grants: d.Grants, consents: d.Consents, sessions: d.Sessions,
		dir: d.Directory, box: d.Box, audit: d.Audit, clock: d.Clock, ids: d.IDs, cfg: cfg}
}

// Authentication method references (RFC 8176) of the hosted sign-in.
var (
	AMRPassword    = []string{"pwd"}
	AMRPasswordOTP = []string{"pwd", "otp", "mfa"}
)

// BrowserSession is a signed-in browser: one UMS session, held in a
// cookie, that every client's sign-in reuses until it ends.
type BrowserSession struct {
	SessionID uuid.UUID `json:"s"`
	UserID    uuid.UUID `json:"u"`
	AuthTime  time.Time `json:"t"`
	AMR       []string  `json:"a"`
	ExpiresAt time.Time `json:"e"`
	// SeenAt is the browser's last page, for the idle timeout.
	SeenAt time.Time `json:"v"`
}

const browserSessionLabel = "browser-session"

// OpenBrowserSession turns the session a sign-in started into the
// browser's: it returns the cookie value (sealed, so it cannot be forged
// or read) and what it stands for.
func (s *SignOn) OpenBrowserSession(ctx context.Context, pair TokenPair, amr []string) (string, BrowserSession, error) {
	sess, err := s.sessions.store.ByID(ctx, pair.SessionID)
	if err != nil {
		return "", BrowserSession{}, err
	}
	bs := BrowserSession{SessionID: sess.ID, UserID: sess.UserID, AuthTime: sess.CreatedAt, AMR: amr, ExpiresAt: sess.ExpiresAt,
		SeenAt: s.clock.Now()}
	return s.sealBrowserSession(bs)
}

// RenewBrowserSession restarts the idle clock of a session the browser
// is using; the cookie is sealed anew.
func (s *SignOn) RenewBrowserSession(bs BrowserSession) (string, BrowserSession, error) {
	bs.SeenAt = s.clock.Now()
	return s.sealBrowserSession(bs)
}

func (s *SignOn) sealBrowserSession(bs BrowserSession) (string, BrowserSession, error) {
	b, err := json.Marshal(bs)
	if err != nil {
		return "", BrowserSession{}, err
	}
	sealed, err := s.box.Seal(b, browserSessionLabel)
	if err != nil {
		return "", BrowserSession{}, err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), bs, nil
}

// BrowserSession returns the session a cookie stands for, if it is still
// good: unexpired, unrevoked (on any instance) and its account active.
func (s *SignOn) BrowserSession(ctx context.Context, cookie string) (BrowserSession, bool, error) {
	if cookie == "" || len(cookie) > 4096 {
		return BrowserSession{}, false, nil
	}
	sealed, err := base64.RawURLEncoding.DecodeString(cookie)
	if err != nil {
		return BrowserSession{}, false, nil
	}
	b, err := s.box.Open(sealed, browserSessionLabel)
	if err != nil {
		return BrowserSession{}, false, nil
	}
	var bs BrowserSession
	if json.Unmarshal(b, &bs) != nil || !s.clock.Now().Before(bs.ExpiresAt) {
		return BrowserSession{}, false, nil
	}
	revoked, err := s.sessions.revoked.IsRevoked(ctx, bs.SessionID)
	if err != nil || revoked {
		return BrowserSession{}, false, err
	}
	u, err := s.sessions.users.ByID(ctx, bs.UserID)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return BrowserSession{}, false, nil
		}
		return BrowserSession{}, false, err
	}
	return bs, u.IsActive(), nil
}

// SignOutBrowser ends the browser's session.
func (s *SignOn) SignOutBrowser(ctx context.Context, bs BrowserSession) error {
	return s.sessions.revoker.EndSession(ctx, bs.UserID, bs.SessionID, domain.RevokeLogout)
}

// Client returns a registered client.
func (s *SignOn) Client(ctx context.Context, id string) (domain.OAuthClient, error) {
	if id == "" || len(id) > 100 {
		return domain.OAuthClient{}, domain.ErrOAuthClientNotFound
	}
	return s.clients.ByID(ctx, id)
}

// StartRequest stores an authorization request the library validated.
func (s *SignOn) StartRequest(ctx context.Context, r domain.AuthRequest) (domain.AuthRequest, error) {
	now := s.clock.Now()
	r.ID, r.CreatedAt, r.ExpiresAt = s.ids.NewID(), now, now.Add(s.cfg.RequestTTL)
	if err := s.requests.Create(ctx, r); err != nil {
		return domain.AuthRequest{}, err
	}
	return r, nil
}

// Request returns a pending authorization request.
func (s *SignOn) Request(ctx context.Context, id uuid.UUID) (domain.AuthRequest, error) {
	return s.requests.ByID(ctx, id, s.clock.Now())
}

// NeedsConsent reports whether the user must agree before the request's
// client gets its scopes: never for first-party clients, once per scope
// set for the others (and again when the client asks prompt=consent).
func (s *SignOn) NeedsConsent(ctx context.Context, r domain.AuthRequest, userID uuid.UUID) (bool, error) {
	c, err := s.clients.ByID(ctx, r.ClientID)
	if err != nil {
		return false, err
	}
	if c.FirstParty {
		return false, nil
	}
	if r.PromptsFor("consent") {
		return true, nil
	}
	got, err := s.consents.Get(ctx, userID, r.ClientID)
	if errors.Is(err, domain.ErrConsentNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return !got.Covers(r.Scopes), nil
}

// Approve completes the request for the signed-in browser; consented
// records the user's agreement to the request's scopes first.
func (s *SignOn) Approve(ctx context.Context, r domain.AuthRequest, bs BrowserSession, consented bool) error {
	if consented {
		now := s.clock.Now()
		if err := s.consents.Grant(ctx, domain.Consent{UserID: bs.UserID, ClientID: r.ClientID, Scopes: r.Scopes, GrantedAt: now}); err != nil {
			return err
		}
		ev := domain.NewAuditEvent(ctx, s.ids.NewID(), now, domain.ActionOAuthConsentGranted, domain.OutcomeSuccess)
		ev.ActorID, ev.TargetType, ev.TargetID = &bs.UserID, "oauth_client", r.ClientID
		ev.Details = map[string]any{"scopes": r.Scopes}
		if err := s.audit.Record(ctx, ev); err != nil {
			return err
		}
	}
	return s.requests.Complete(ctx, r.ID, bs.UserID, bs.AuthTime, bs.AMR)
}

// SaveCode keeps the hash of the code issued for a completed request.
func (s *SignOn) SaveCode(ctx context.Context, id uuid.UUID, code string) error {
	return s.requests.SetCode(ctx, id, codeHash(code))
}

// TakeByCode spends a code: one exchange gets its request, every other
// (concurrent or later) gets domain.ErrAuthRequestNotFound.
func (s *SignOn) TakeByCode(ctx context.Context, code string) (domain.AuthRequest, error) {
	if code == "" || len(code) > 512 {
		return domain.AuthRequest{}, domain.ErrAuthRequestNotFound
	}
	return s.requests.TakeByCode(ctx, codeHash(code), s.clock.Now())
}

// DeleteRequest forgets a request.
func (s *SignOn) DeleteRequest(ctx context.Context, id uuid.UUID) error {
	return s.requests.Delete(ctx, id)
}

// PruneRequests deletes expired requests.
func (s *SignOn) PruneRequests(ctx context.Context) (int, error) {
	return s.requests.DeleteExpired(ctx, s.clock.Now())
}

func codeHash(code string) []byte {
	sum := sha256.Sum256([]byte(code))
	return sum[:]
}

// ClientAudit records a failure of a client at the token endpoint (a
// wrong secret, a replayed code), for the audit trail.
func (s *SignOn) ClientAudit(ctx context.Context, action, clientID, reason string) {
	ev := domain.NewAuditEvent(ctx, s.ids.NewID(), s.clock.Now(), action, domain.OutcomeFailure)
	ev.TargetType, ev.TargetID = "oauth_client", clientID
	ev.Details = map[string]any{"reason": reason}
	_ = s.audit.Record(ctx, ev)
}
