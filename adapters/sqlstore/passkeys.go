package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// passkeyRow is a row of passkeys. sign_count is a bigint: the domain's
// counter is a uint32, which an int4 cannot hold. transports is a JSON
// array (jsonb on Postgres, text on SQLite).
type passkeyRow struct {
	bun.BaseModel `bun:"table:passkeys,alias:pk"`

	ID              uuid.UUID  `bun:"id,pk,type:uuid"`
	UserID          uuid.UUID  `bun:"user_id,type:uuid"`
	CredentialID    []byte     `bun:"credential_id"`
	PublicKey       []byte     `bun:"public_key"`
	SignCount       int64      `bun:"sign_count"`
	AAGUID          []byte     `bun:"aaguid"`
	Transports      []string   `bun:"transports,type:jsonb"`
	BackupEligible  bool       `bun:"backup_eligible"`
	BackedUp        bool       `bun:"backed_up"`
	AttestationType string     `bun:"attestation_type"`
	Name            string     `bun:"name"`
	CreatedAt       time.Time  `bun:"created_at"`
	LastUsedAt      *time.Time `bun:"last_used_at"`
}

func toPasskeyRow(p domain.Passkey) *passkeyRow {
	row := &passkeyRow{
		ID: p.ID, UserID: p.UserID, CredentialID: p.CredentialID, PublicKey: p.PublicKey,
		SignCount: int64(p.SignCount), AAGUID: passkeyBytes(p.AAGUID), Transports: oauthList(p.Transports),
		BackupEligible: p.BackupEligible, BackedUp: p.BackedUp, AttestationType: p.AttestationType,
		Name: p.Name, CreatedAt: p.CreatedAt.UTC(),
	}
	if p.LastUsedAt != nil {
		at := p.LastUsedAt.UTC()
		row.LastUsedAt = &at
	}
	return row
}

func (r *passkeyRow) toDomain() domain.Passkey {
	p := domain.Passkey{
		ID: r.ID, UserID: r.UserID, CredentialID: r.CredentialID, PublicKey: r.PublicKey,
		SignCount: uint32(r.SignCount), Transports: oauthList(r.Transports),
		BackupEligible: r.BackupEligible, BackedUp: r.BackedUp, AttestationType: r.AttestationType,
		Name: r.Name, CreatedAt: r.CreatedAt.UTC(),
	}
	if len(r.AAGUID) > 0 {
		p.AAGUID = r.AAGUID
	}
	if r.LastUsedAt != nil {
		at := r.LastUsedAt.UTC()
		p.LastUsedAt = &at
	}
	return p
}

// passkeyBytes is b, or an empty slice for nil: the byte columns are NOT
// NULL, and Bun writes a nil slice as NULL.
func passkeyBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// PasskeyRepository stores WebAuthn credentials in passkeys. Deleting a
// user (erasure) deletes their passkeys with it (ON DELETE CASCADE).
type PasskeyRepository struct{ db *DB }

var _ ports.PasskeyRepository = (*PasskeyRepository)(nil)

// NewPasskeyRepository returns a PasskeyRepository on db.
func NewPasskeyRepository(db *DB) *PasskeyRepository { return &PasskeyRepository{db: db} }

// Create implements ports.PasskeyRepository. A credential id already
// registered, by this user or another, or a taken id, is
// domain.ErrConflict; a user that is not there (any more) is
// domain.ErrUserNotFound.
func (r *PasskeyRepository) Create(ctx context.Context, p domain.Passkey) error {
	if len(p.CredentialID) == 0 {
		return errors.New("insert passkey: empty credential id")
	}
	if _, err := conn(ctx, r.db).NewInsert().Model(toPasskeyRow(p)).Exec(ctx); err != nil {
		if _, ok := uniqueViolation(err); ok {
			return domain.ErrConflict
		}
		if oauthParentMissing(err) {
			return domain.ErrUserNotFound
		}
		return dbError("insert passkey", err)
	}
	return nil
}

// ByUser implements ports.PasskeyRepository: oldest first, ties by id.
func (r *PasskeyRepository) ByUser(ctx context.Context, userID uuid.UUID) ([]domain.Passkey, error) {
	var rows []passkeyRow
	if err := conn(ctx, r.db).NewSelect().Model(&rows).Where("pk.user_id = ?", userID).
		OrderExpr("pk.created_at ASC, pk.id ASC").Scan(ctx); err != nil {
		return nil, dbError("list passkeys", err)
	}
	out := make([]domain.Passkey, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// ByCredentialID implements ports.PasskeyRepository.
func (r *PasskeyRepository) ByCredentialID(ctx context.Context, credentialID []byte) (domain.Passkey, error) {
	if len(credentialID) == 0 {
		return domain.Passkey{}, domain.ErrPasskeyNotFound
	}
	row := new(passkeyRow)
	if err := conn(ctx, r.db).NewSelect().Model(row).Where("pk.credential_id = ?", credentialID).
		Limit(1).Scan(ctx); err != nil {
		if isNoRows(err) {
			return domain.Passkey{}, domain.ErrPasskeyNotFound
		}
		return domain.Passkey{}, dbError("select passkey", err)
	}
	return row.toDomain(), nil
}

// RecordUse implements ports.PasskeyRepository. The sign_count = use.From
// guard is in the statement, so of racing uses that read the same counter
// one changes the row and the others get domain.ErrConcurrentChange (on
// Postgres a waiting update re-checks the guard against the winner's row;
// SQLite runs writers one at a time). A passkey that is gone is
// domain.ErrPasskeyNotFound, told apart by a second read only when the
// update changed nothing. An authenticator that keeps its counter at 0
// (From == To) passes the guard every time: there is nothing to compare.
func (r *PasskeyRepository) RecordUse(ctx context.Context, id uuid.UUID, use domain.PasskeyUse) error {
	db := conn(ctx, r.db)
	res, err := db.NewUpdate().Model((*passkeyRow)(nil)).
		Set("sign_count = ?", int64(use.To)).Set("backed_up = ?", use.BackedUp).Set("last_used_at = ?", use.At.UTC()).
		Where("id = ?", id).Where("sign_count = ?", int64(use.From)).Exec(ctx)
	if err != nil {
		return dbError("record passkey use", err)
	}
	n, err := oauthRowsChanged("record passkey use", res)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	exists, err := db.NewSelect().Model((*passkeyRow)(nil)).Where("id = ?", id).Exists(ctx)
	if err != nil {
		return dbError("record passkey use: find passkey", err)
	}
	if !exists {
		return domain.ErrPasskeyNotFound
	}
	return domain.ErrConcurrentChange
}

// Rename implements ports.PasskeyRepository. It writes name only, and only
// on a passkey of userID: another user's passkey is
// domain.ErrPasskeyNotFound, as is one that is gone.
func (r *PasskeyRepository) Rename(ctx context.Context, userID, id uuid.UUID, name string) error {
	res, err := conn(ctx, r.db).NewUpdate().Model((*passkeyRow)(nil)).
		Set("name = ?", name).Where("id = ?", id).Where("user_id = ?", userID).Exec(ctx)
	if err != nil {
		return dbError("rename passkey", err)
	}
	n, err := oauthRowsChanged("rename passkey", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.ErrPasskeyNotFound
	}
	return nil
}

// Delete implements ports.PasskeyRepository, scoped to userID like Rename.
func (r *PasskeyRepository) Delete(ctx context.Context, userID, id uuid.UUID) error {
	res, err := conn(ctx, r.db).NewDelete().Model((*passkeyRow)(nil)).
		Where("id = ?", id).Where("user_id = ?", userID).Exec(ctx)
	if err != nil {
		return dbError("delete passkey", err)
	}
	n, err := oauthRowsChanged("delete passkey", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.ErrPasskeyNotFound
	}
	return nil
}

// ceremonyRow is a row of webauthn_ceremonies.
type ceremonyRow struct {
	bun.BaseModel `bun:"table:webauthn_ceremonies"`

	ID        string    `bun:"id,pk"`
	Data      []byte    `bun:"data"`
	ExpiresAt time.Time `bun:"expires_at"`
}

// CeremonyStore keeps WebAuthn ceremony state in webauthn_ceremonies, so
// any instance can finish a ceremony another began.
type CeremonyStore struct{ db *DB }

var _ ports.CeremonyStore = (*CeremonyStore)(nil)

// NewCeremonyStore returns a CeremonyStore on db.
func NewCeremonyStore(db *DB) *CeremonyStore { return &CeremonyStore{db: db} }

// Put implements ports.CeremonyStore. Ids are random and never reused: a
// taken one is domain.ErrConflict rather than replaced, so one ceremony
// can never overwrite another's state.
func (s *CeremonyStore) Put(ctx context.Context, id string, data []byte, expiresAt time.Time) error {
	if id == "" {
		return errors.New("insert webauthn ceremony: empty id")
	}
	row := &ceremonyRow{ID: id, Data: passkeyBytes(data), ExpiresAt: expiresAt.UTC()}
	if _, err := conn(ctx, s.db).NewInsert().Model(row).Exec(ctx); err != nil {
		if _, ok := uniqueViolation(err); ok {
			return domain.ErrConflict
		}
		return dbError("insert webauthn ceremony", err)
	}
	return nil
}

// Take implements ports.CeremonyStore. Finding and deleting the ceremony
// are one DELETE … RETURNING (Postgres, SQLite ≥ 3.35): on Postgres a
// concurrent delete of the same row waits for the first and then finds
// nothing, and SQLite runs writers one at a time, so exactly one caller
// gets the data. A ceremony is live while now is before its expires_at;
// an expired one is deleted all the same, but reported as
// domain.ErrCeremonyExpired.
func (s *CeremonyStore) Take(ctx context.Context, id string, now time.Time) ([]byte, error) {
	if id == "" {
		return nil, domain.ErrCeremonyExpired
	}
	var rows []ceremonyRow
	_, err := conn(ctx, s.db).NewDelete().Model((*ceremonyRow)(nil)).
		Where("id = ?", id).Returning("*").Exec(ctx, &rows)
	if err != nil {
		if isNoRows(err) {
			return nil, domain.ErrCeremonyExpired
		}
		return nil, dbError("take webauthn ceremony", err)
	}
	if len(rows) != 1 || !rows[0].ExpiresAt.After(now) {
		return nil, domain.ErrCeremonyExpired
	}
	return passkeyBytes(rows[0].Data), nil
}

// DeleteExpired implements ports.CeremonyStore: it removes the ceremonies
// Take would refuse at now (expires_at <= now) and says how many.
func (s *CeremonyStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	res, err := conn(ctx, s.db).NewDelete().Model((*ceremonyRow)(nil)).
		Where("expires_at <= ?", now.UTC()).Exec(ctx)
	if err != nil {
		return 0, dbError("delete expired webauthn ceremonies", err)
	}
	n, err := oauthRowsChanged("delete expired webauthn ceremonies", res)
	return int(n), err
}
