package application

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// A ceremony's state lives in the CeremonyStore between its two requests,
// under a random id the browser sends back: any instance can finish what
// another began, and Take spends it, so a challenge is answered once.

// ceremonyKind keeps the ceremonies apart: the id of a registration does
// not finish a sign-in, nor one user's second factor another's.
type ceremonyKind string

const (
	ceremonyRegister     ceremonyKind = "register"
	ceremonyLogin        ceremonyKind = "login"
	ceremonySecondFactor ceremonyKind = "second_factor"
)

// ceremonyIDBytes is the entropy of a ceremony id.
const ceremonyIDBytes = 32

// ceremonyRecord is what the store keeps: the kind, whom the ceremony is
// for (nobody yet for a passwordless sign-in) and the WebAuthn port's
// session.
type ceremonyRecord struct {
	Kind    ceremonyKind `json:"k"`
	User    uuid.UUID    `json:"u"`
	Session []byte       `json:"s"`
}

// begin stores a ceremony's session for ttl and returns its first step.
func (p *Passkeys) begin(ctx context.Context, kind ceremonyKind, user uuid.UUID, options, session []byte,
	ttl time.Duration,
) (Ceremony, error) {
	raw := make([]byte, ceremonyIDBytes)
	if _, err := io.ReadFull(p.d.Random, raw); err != nil {
		return Ceremony{}, fmt.Errorf("ceremony id: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(raw)
	b, err := json.Marshal(ceremonyRecord{Kind: kind, User: user, Session: session})
	if err != nil {
		return Ceremony{}, err
	}
	if err := p.d.Ceremonies.Put(ctx, id, b, p.d.Clock.Now().Add(ttl)); err != nil {
		return Ceremony{}, fmt.Errorf("store ceremony: %w", err)
	}
	return Ceremony{ID: id, Options: json.RawMessage(options), ExpiresIn: ttl}, nil
}

// take spends a ceremony of kind begun for user. An id that is malformed,
// unknown, expired, spent, or of another kind or user is
// domain.ErrCeremonyExpired: the client can only start again.
func (p *Passkeys) take(ctx context.Context, id string, kind ceremonyKind, user uuid.UUID) (ceremonyRecord, error) {
	if raw, err := base64.RawURLEncoding.DecodeString(id); err != nil || len(raw) != ceremonyIDBytes {
		return ceremonyRecord{}, domain.ErrCeremonyExpired
	}
	b, err := p.d.Ceremonies.Take(ctx, id, p.d.Clock.Now())
	if err != nil {
		return ceremonyRecord{}, err
	}
	var rec ceremonyRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return ceremonyRecord{}, fmt.Errorf("decode ceremony: %w", err)
	}
	if rec.Kind != kind || rec.User != user {
		return ceremonyRecord{}, domain.ErrCeremonyExpired
	}
	return rec, nil
}
