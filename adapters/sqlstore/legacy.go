package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// LegacyIDs is a ports.LegacyIDs on the legacy_ids table the import fills.
type LegacyIDs struct{ db *DB }

var _ ports.LegacyIDs = (*LegacyIDs)(nil)

// NewLegacyIDs returns LegacyIDs on db.
func NewLegacyIDs(db *DB) *LegacyIDs { return &LegacyIDs{db: db} }

// OldID implements ports.LegacyIDs. A row made after the cutover gets the
// next integer in a transaction of its own. On Postgres allocations of one
// kind queue on an advisory lock held until commit (retrying on a taken
// integer starves a caller when many allocate at once; SQLite's single
// writer already queues them); the unique key on (kind, new_id) makes two
// concurrent allocations for one row fail, and the loser reads the
// winner's.
func (l *LegacyIDs) OldID(ctx context.Context, kind string, newID uuid.UUID) (int64, error) {
	for attempt := 0; attempt < 8; attempt++ {
		if id, ok, err := l.oldID(ctx, kind, newID); err != nil || ok {
			return id, err
		}
		var allocated int64
		err := l.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
			if l.db.Dialect == Postgres {
				if _, err := tx.NewRaw("SELECT pg_advisory_xact_lock(hashtext(?))", "legacy_ids:"+kind).Exec(ctx); err != nil {
					return err
				}
			}
			if err := tx.NewSelect().TableExpr("legacy_ids").ColumnExpr("COALESCE(MAX(old_id), 0) + 1").
				Where("kind = ?", kind).Scan(ctx, &allocated); err != nil {
				return err
			}
			row := &legacyIDRow{Kind: kind, OldID: allocated, NewID: &newID, ImportedAt: time.Now().UTC()}
			_, err := tx.NewInsert().Model(row).Exec(ctx)
			return err
		})
		if err == nil {
			return allocated, nil
		}
		if _, conflict := uniqueViolation(err); !conflict {
			return 0, dbError("allocate legacy id", err)
		}
	}
	return 0, domain.Unavailable("unavailable", "could not allocate an integer id; retry", time.Second)
}

func (l *LegacyIDs) oldID(ctx context.Context, kind string, newID uuid.UUID) (int64, bool, error) {
	var ids []int64
	err := conn(ctx, l.db).NewSelect().TableExpr("legacy_ids").Column("old_id").
		Where("kind = ?", kind).Where("new_id = ?", newID).Limit(1).Scan(ctx, &ids)
	if err != nil {
		return 0, false, dbError("select legacy id", err)
	}
	if len(ids) == 0 {
		return 0, false, nil
	}
	return ids[0], true, nil
}

// NewID implements ports.LegacyIDs.
func (l *LegacyIDs) NewID(ctx context.Context, kind string, oldID int64) (uuid.UUID, error) {
	var ids []uuid.UUID
	err := conn(ctx, l.db).NewSelect().TableExpr("legacy_ids").Column("new_id").
		Where("kind = ?", kind).Where("old_id = ?", oldID).Where("new_id IS NOT NULL").Limit(1).Scan(ctx, &ids)
	if err != nil {
		return uuid.Nil, dbError("select legacy id", err)
	}
	if len(ids) == 0 {
		if kind == ports.LegacyIDLab {
			return uuid.Nil, domain.ErrOrgNotFound
		}
		return uuid.Nil, domain.ErrUserNotFound
	}
	return ids[0], nil
}

type legacyRefreshLinkRow struct {
	bun.BaseModel `bun:"table:legacy_refresh_links"`

	TokenHash []byte    `bun:"token_hash,pk"`
	SessionID uuid.UUID `bun:"session_id,type:uuid"`
	CreatedAt time.Time `bun:"created_at"`
}

// LegacySessionLinks is a ports.LegacySessionLinks on legacy_refresh_links.
type LegacySessionLinks struct{ db *DB }

var _ ports.LegacySessionLinks = (*LegacySessionLinks)(nil)

// NewLegacySessionLinks returns LegacySessionLinks on db.
func NewLegacySessionLinks(db *DB) *LegacySessionLinks { return &LegacySessionLinks{db: db} }

// Session implements ports.LegacySessionLinks.
func (l *LegacySessionLinks) Session(ctx context.Context, tokenHash []byte) (uuid.UUID, bool, error) {
	var rows []legacyRefreshLinkRow
	if err := conn(ctx, l.db).NewSelect().Model(&rows).Where("token_hash = ?", tokenHash).Limit(1).Scan(ctx); err != nil {
		return uuid.Nil, false, dbError("select legacy refresh link", err)
	}
	if len(rows) == 0 {
		return uuid.Nil, false, nil
	}
	return rows[0].SessionID, true, nil
}

// Link implements ports.LegacySessionLinks: the insert does nothing when a
// concurrent caller linked the token first, and that link is read back.
func (l *LegacySessionLinks) Link(ctx context.Context, tokenHash []byte, sessionID uuid.UUID, at time.Time) (uuid.UUID, error) {
	row := &legacyRefreshLinkRow{TokenHash: tokenHash, SessionID: sessionID, CreatedAt: at.UTC()}
	if _, err := conn(ctx, l.db).NewInsert().Model(row).On("CONFLICT (token_hash) DO NOTHING").Exec(ctx); err != nil {
		return uuid.Nil, dbError("insert legacy refresh link", err)
	}
	id, ok, err := l.Session(ctx, tokenHash)
	if err != nil {
		return uuid.Nil, err
	}
	if !ok {
		return uuid.Nil, domain.ErrInvalidToken
	}
	return id, nil
}
