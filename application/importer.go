package application

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// ImporterDeps are the ports an import needs.
type ImporterDeps struct {
	Users   ports.UserRepository
	Orgs    ports.OrgRepository
	Members ports.MembershipRepository
	Perms   ports.PermissionRepository
	Ledger  ports.ImportLedger
	Hashes  ports.ImportedHashes
	Audit   ports.AuditLog
	// History keeps the old password hashes an account carries over.
	History ports.PasswordHistory
	// Box seals carried-over TOTP secrets; TOTP judges them.
	Box      ports.SecretBox
	TOTP     ports.TOTP
	Tx       ports.TxManager
	Clock    ports.Clock
	IDs      ports.IDGenerator
	Password PasswordConfig
}

// Importer brings users and their access from other systems into UMS with
// their password hashes, so nobody has to reset a password. Each import
// runs in one transaction: it lands whole or not at all, and a dry run is
// the same work rolled back.
type Importer struct{ d ImporterDeps }

// NewImporter wires the importer.
func NewImporter(d ImporterDeps) *Importer { return &Importer{d: d} }

// errDryRun rolls a dry run's transaction back.
var errDryRun = errors.New("dry run")

// inTx runs fn in one transaction, rolled back on a dry run.
func (i *Importer) inTx(ctx context.Context, dryRun bool, fn func(ctx context.Context) error) error {
	err := i.d.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := fn(ctx); err != nil {
			return err
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		return nil
	}
	return err
}

// recordImport audits an import that changed something; a run that
// imported nothing leaves no trace, so repeating an import changes nothing.
func (i *Importer) recordImport(ctx context.Context, rep ImportReport, action, source string) error {
	if rep.Total() == 0 {
		return nil
	}
	ev := domain.NewAuditEvent(ctx, i.d.IDs.NewID(), i.d.Clock.Now(), action, domain.OutcomeSuccess)
	ev.TargetType, ev.TargetID, ev.Details = "import", source, rep.counts()
	return i.d.Audit.Record(ctx, ev)
}

// importedUser is one account from another system, before validation.
type importedUser struct {
	OldID                                                      int64
	Email, Username, FirstName, LastName, PasswordHash         string
	IsActive, IsSystemAdmin, EmailVerified, MustChangePassword bool
	FailedLoginCount                                           int
	LockedUntil, PasswordChangedAt, PasswordExpiresAt          *time.Time
	LastLoginAt, CreatedAt, UpdatedAt                          *time.Time
	// MFASecretSealed keeps TOTP on with the old secret.
	MFASecretSealed []byte
	// DeriveUsername imports an account whose username UMS refuses or
	// already has under a derived one, rather than leaving it behind.
	DeriveUsername bool
}

// buildUser validates an imported account against UMS's rules and the
// store; it returns the user or why it cannot be imported. seen holds the
// normalised emails and usernames taken earlier in this run.
func (i *Importer) buildUser(ctx context.Context, in importedUser, seen map[string]bool, rep *ImportReport) (*domain.User, string, error) {
	email, fe := domain.ParseEmail(in.Email)
	if fe != nil || email.Reserved() {
		return nil, fmt.Sprintf("invalid email %q", in.Email), nil
	}
	first, fe1 := domain.ParsePersonName("first_name", truncateRunes(in.FirstName, 100))
	last, fe2 := domain.ParsePersonName("last_name", truncateRunes(in.LastName, 100))
	if fe1 != nil || fe2 != nil {
		return nil, "invalid first or last name", nil
	}
	if strings.TrimSpace(in.PasswordHash) == "" {
		return nil, "no password hash", nil
	}
	if _, err := i.d.Hashes.CheckImported(in.PasswordHash); err != nil {
		return nil, err.Error(), nil
	}
	if seen["email:"+email.String()] {
		return nil, "duplicate email in the source", nil
	}
	if reason, err := i.taken(ctx, email.String(), "email"); err != nil || reason != "" {
		return nil, reason, err
	}
	username, reason, err := i.importedUsername(ctx, in, email, seen)
	if err != nil || reason != "" {
		return nil, reason, err
	}
	if username.String() != in.Username {
		rep.Renamed = append(rep.Renamed, ImportRename{Kind: ImportUsers, OldID: fmt.Sprint(in.OldID), From: in.Username,
			To: username.String(), Note: "UMS usernames are 3-32 ASCII letters, digits, '.', '_' or '-', unique in any case; the account signs in with this name or its email"})
	}
	seen["email:"+email.String()], seen["username:"+username.Normalized()] = true, true

	now := i.d.Clock.Now()
	created := timeOr(in.CreatedAt, now)
	changed := timeOr(in.PasswordChangedAt, created)
	u := domain.ImportedUser(domain.ImportParams{
		NewUserParams: domain.NewUserParams{ID: i.d.IDs.NewID(), Email: email, Username: username,
			FirstName: first, LastName: last, PasswordHash: in.PasswordHash, IsSystemAdmin: in.IsSystemAdmin,
			EmailVerified: in.EmailVerified, Now: changed, PasswordMaxAge: i.d.Password.MaxAge},
		IsActive: in.IsActive, MustChangePassword: in.MustChangePassword, PasswordExpiresAt: utc(in.PasswordExpiresAt),
		Lock:            domain.AccountLock{Until: utc(in.LockedUntil), Failures: in.FailedLoginCount},
		MFASecretSealed: in.MFASecretSealed, LastLoginAt: utc(in.LastLoginAt),
		CreatedAt: created, UpdatedAt: timeOr(in.UpdatedAt, created),
	})
	return u, "", nil
}

// importedUsername is the account's username as is when UMS accepts it
// and it is free; otherwise, when in.DeriveUsername, a derived one made
// unique with the old id, and else the reason to skip the account.
func (i *Importer) importedUsername(ctx context.Context, in importedUser, email domain.Email, seen map[string]bool) (domain.Username, string, error) {
	free := func(u domain.Username) (bool, error) {
		if seen["username:"+u.Normalized()] {
			return false, nil
		}
		reason, err := i.taken(ctx, u.String(), "username")
		return reason == "", err
	}
	username, fe := domain.ParseUsername(in.Username)
	if fe == nil {
		ok, err := free(username)
		if err != nil || ok {
			return username, "", err
		}
		if !in.DeriveUsername {
			if seen["username:"+username.Normalized()] {
				return domain.Username{}, "duplicate username in the source", nil
			}
			return domain.Username{}, "duplicate username: already used in UMS", nil
		}
	} else if !in.DeriveUsername {
		return domain.Username{}, fmt.Sprintf("invalid username %q: %s", in.Username, fe.Message), nil
	}
	base := in.Username
	if fe != nil {
		base = DeriveUsername(in.Username, email.String(), in.OldID)
		if u, pfe := domain.ParseUsername(base); pfe == nil {
			if ok, err := free(u); err != nil || ok {
				return u, "", err
			}
		}
	}
	// Taken: the old id tells the two accounts apart.
	for n := 0; n < 100; n++ {
		suffix := fmt.Sprintf("-%d", in.OldID)
		if n > 0 {
			suffix = fmt.Sprintf("-%d-%d", in.OldID, n)
		}
		u, pfe := domain.ParseUsername(strings.TrimRight(truncateRunes(base, 32-len(suffix)), "._-") + suffix)
		if pfe != nil {
			continue
		}
		ok, err := free(u)
		if err != nil || ok {
			return u, "", err
		}
	}
	return domain.Username{}, "no free username could be derived", nil
}

// taken reports a login already used by a UMS account.
func (i *Importer) taken(ctx context.Context, login, what string) (string, error) {
	_, err := i.d.Users.ByLogin(ctx, login)
	switch {
	case err == nil:
		return "duplicate " + what + ": already used in UMS", nil
	case errors.Is(err, domain.ErrUserNotFound):
		return "", nil
	default:
		return "", err
	}
}

func timeOr(t *time.Time, def time.Time) time.Time {
	if t == nil || t.IsZero() {
		return def.UTC()
	}
	return t.UTC()
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// UserRecord is one account of `ums import users`: a line of the JSONL
// file, with its hash in any format the hasher accepts.
type UserRecord struct {
	// Line is the record's line number, for the report.
	Line               int
	Email              string
	Username           string
	FirstName          string
	LastName           string
	PasswordHash       string
	IsActive           *bool
	IsSystemAdmin      bool
	EmailVerified      bool
	MustChangePassword bool
	PasswordChangedAt  *time.Time
	CreatedAt          *time.Time
}

// ImportUsers creates the accounts of recs with their hashes. A record
// whose email already belongs to a UMS user with the same username counts
// as existing (imported before); other conflicts are skipped with reasons.
func (i *Importer) ImportUsers(ctx context.Context, recs []UserRecord, dryRun bool) (ImportReport, error) {
	rep := newImportReport(dryRun)
	err := i.inTx(ctx, dryRun, func(ctx context.Context) error {
		seen := map[string]bool{}
		for _, r := range recs {
			if existing, err := i.d.Users.ByLogin(ctx, strings.TrimSpace(r.Email)); err == nil && strings.Contains(r.Email, "@") &&
				strings.EqualFold(existing.Username().String(), strings.TrimSpace(r.Username)) {
				rep.Existing[ImportUsers]++
				continue
			} else if err != nil && !errors.Is(err, domain.ErrUserNotFound) {
				return err
			}
			active := r.IsActive == nil || *r.IsActive
			u, reason, err := i.buildUser(ctx, importedUser{OldID: int64(r.Line), Email: r.Email, Username: r.Username, FirstName: r.FirstName,
				LastName: r.LastName, PasswordHash: r.PasswordHash, IsActive: active, IsSystemAdmin: r.IsSystemAdmin,
				EmailVerified: r.EmailVerified, MustChangePassword: r.MustChangePassword,
				PasswordChangedAt: r.PasswordChangedAt, CreatedAt: r.CreatedAt}, seen, &rep)
			if err != nil {
				return err
			}
			if reason != "" {
				rep.skip(ImportUsers, fmt.Sprintf("line %d", r.Line), "%s", reason)
				continue
			}
			if err := i.d.Users.Create(ctx, u); err != nil {
				return fmt.Errorf("line %d: %w", r.Line, err)
			}
			rep.Imported[ImportUsers]++
		}
		return i.recordImport(ctx, rep, ActionImportUsers, "jsonl")
	})
	return rep, err
}
