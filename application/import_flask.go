package application

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// ImportFlask imports the old Flask service's database: users with their
// Werkzeug hashes, flags, lock state and password metadata; labs as
// organizations; memberships; attributes as permissions; role attributes
// (global and per lab) as role permissions; user attributes as grants with
// their expiry; and the audit log as "legacy."-prefixed audit events. Rows
// an earlier run imported (the ledger knows their old ids) are left alone,
// so a repeated run changes nothing and a later run imports only new rows.
func (i *Importer) ImportFlask(ctx context.Context, src ports.FlaskSource, dryRun bool) (ImportReport, error) {
	snap, err := src.Snapshot(ctx)
	if err != nil {
		return ImportReport{}, fmt.Errorf("read the Flask database: %w", err)
	}
	rep := newImportReport(dryRun)
	err = i.inTx(ctx, dryRun, func(ctx context.Context) error {
		run := &flaskRun{Importer: i, rep: &rep, ids: map[string]map[int64]uuid.UUID{}, perms: map[int64]string{}}
		for _, step := range []func(context.Context, ports.FlaskSnapshot) error{
			run.users, run.labs, run.attributes, run.memberships, run.roleAttributes, run.userAttributes, run.auditLogs,
		} {
			if err := step(ctx, snap); err != nil {
				return err
			}
		}
		return i.recordImport(ctx, rep, ActionImportFlask, "flask")
	})
	if err != nil {
		return ImportReport{}, err
	}
	return rep, nil
}

// flaskRun is the state of one import: old id → new id by kind, and the
// permission name of each old attribute.
type flaskRun struct {
	*Importer
	rep   *ImportReport
	ids   map[string]map[int64]uuid.UUID
	perms map[int64]string
}

// known loads the ledger's ids of kind; it reports whether oldID is one.
func (r *flaskRun) known(ctx context.Context, kind string) (map[int64]uuid.UUID, error) {
	if m, ok := r.ids[kind]; ok {
		return m, nil
	}
	m, err := r.d.Ledger.Known(ctx, kind)
	if err != nil {
		return nil, fmt.Errorf("read import ledger: %w", err)
	}
	r.ids[kind] = m
	return m, nil
}

func (r *flaskRun) remember(ctx context.Context, kind string, oldID int64, newID uuid.UUID) error {
	r.ids[kind][oldID] = newID
	return r.d.Ledger.Remember(ctx, kind, oldID, newID, r.d.Clock.Now())
}

func (r *flaskRun) users(ctx context.Context, snap ports.FlaskSnapshot) error {
	known, err := r.known(ctx, ports.LegacyUser)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var withTOTP, lostTOTP int
	for _, u := range snap.Users {
		if _, ok := known[u.ID]; ok {
			r.rep.Existing[ImportUsers]++
			continue
		}
		in := importedUser{OldID: u.ID, Email: u.Email, Username: u.Username, FirstName: u.FirstName,
			LastName: u.LastName, PasswordHash: u.PasswordHash, IsActive: u.IsActive, IsSystemAdmin: u.IsAdmin,
			EmailVerified: u.EmailVerified, MustChangePassword: u.RequirePasswordChange,
			FailedLoginCount: u.FailedLoginAttempts, LockedUntil: u.LockedUntil, PasswordChangedAt: u.PasswordChangedAt,
			PasswordExpiresAt: u.PasswordExpiresAt, LastLoginAt: u.LastLoginAt, CreatedAt: u.CreatedAt,
			UpdatedAt: u.UpdatedAt, DeriveUsername: true}
		if u.TwoFactorEnabled {
			sealed, ok, err := r.sealTOTP(u.TwoFactorSecret)
			if err != nil {
				return fmt.Errorf("user %d: %w", u.ID, err)
			}
			if ok {
				in.MFASecretSealed = sealed
				withTOTP++
			} else {
				lostTOTP++
				r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("user %d had two-factor sign-in on with a secret UMS cannot use; "+
					"the account signs in with its password alone until the user sets TOTP up again", u.ID))
			}
		}
		nu, reason, err := r.buildUser(ctx, in, seen, r.rep)
		if err != nil {
			return err
		}
		if reason != "" {
			r.rep.skip(ImportUsers, u.ID, "%s", reason)
			continue
		}
		if err := r.d.Users.Create(ctx, nu); err != nil {
			return fmt.Errorf("user %d: %w", u.ID, err)
		}
		if err := r.history(ctx, nu, u); err != nil {
			return err
		}
		if err := r.remember(ctx, ports.LegacyUser, u.ID, nu.ID()); err != nil {
			return err
		}
		r.rep.Imported[ImportUsers]++
	}
	if withTOTP > 0 {
		r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("%d users keep two-factor sign-in with their authenticator app; "+
			"they have no recovery codes yet (the old service had none): they get ten by turning TOTP off and on again", withTOTP))
	}
	if n := snap.PendingResetLinks + snap.PendingVerificationLinks; n > 0 {
		r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("%d password reset and %d email verification links of the old service "+
			"were not carried over (they are stored in clear there); users ask for new ones", snap.PendingResetLinks,
			snap.PendingVerificationLinks))
	}
	return nil
}

// sealTOTP seals an old base32 TOTP secret as UMS keeps its own; ok is
// false when the secret is not one UMS can check codes with.
func (r *flaskRun) sealTOTP(secret string) ([]byte, bool, error) {
	secret = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(secret), " ", ""))
	if secret == "" || !r.d.TOTP.ValidSecret(secret) {
		return nil, false, nil
	}
	sealed, err := r.d.Box.Seal([]byte(secret), mfaSealLabel)
	return sealed, err == nil, err
}

// history carries the old password hashes (a JSON array, oldest first)
// into UMS's history, so a reused old password is refused; hashes UMS
// cannot verify are left out.
func (r *flaskRun) history(ctx context.Context, nu *domain.User, u ports.FlaskUser) error {
	if strings.TrimSpace(u.PasswordHistory) == "" {
		return nil
	}
	var hashes []string
	if err := json.Unmarshal([]byte(u.PasswordHistory), &hashes); err != nil {
		r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("user %d: the password history is not a JSON list of hashes; it was left out", u.ID))
		return nil
	}
	changed := nu.PasswordChangedAt()
	for n, h := range hashes {
		if _, err := r.d.Hashes.CheckImported(h); err != nil {
			continue
		}
		// Older entries get earlier times, so the newest stay first.
		at := changed.Add(-time.Duration(len(hashes)-n) * time.Second)
		if err := r.d.History.Add(ctx, r.d.IDs.NewID(), nu.ID(), h, at); err != nil {
			return fmt.Errorf("user %d: password history: %w", u.ID, err)
		}
	}
	return nil
}

func (r *flaskRun) labs(ctx context.Context, snap ports.FlaskSnapshot) error {
	known, err := r.known(ctx, ports.LegacyLab)
	if err != nil {
		return err
	}
	for _, l := range snap.Labs {
		if _, ok := known[l.ID]; ok {
			r.rep.Existing[ImportOrganizations]++
			continue
		}
		name, fe := domain.ParseOrgName("name", l.Name)
		if fe != nil {
			r.rep.skip(ImportOrganizations, l.ID, "invalid name %q", l.Name)
			continue
		}
		desc, _ := domain.ParseDescription("description", truncateRunes(l.Description, 2000))
		slug, err := r.freeSlug(ctx, l)
		if err != nil {
			return err
		}
		if slug == "" {
			r.rep.skip(ImportOrganizations, l.ID, "no usable code or name for a slug")
			continue
		}
		now := r.d.Clock.Now()
		created := timeOr(l.CreatedAt, now)
		o := domain.Organization{ID: r.d.IDs.NewID(), Name: name, Slug: slug, Description: desc,
			IsActive: l.IsActive, CreatedAt: created, UpdatedAt: timeOr(l.UpdatedAt, created)}
		if err := r.d.Orgs.Create(ctx, o); err != nil {
			return fmt.Errorf("lab %d: %w", l.ID, err)
		}
		if err := r.remember(ctx, ports.LegacyLab, l.ID, o.ID); err != nil {
			return err
		}
		r.rep.Imported[ImportOrganizations]++
	}
	return nil
}

// freeSlug derives a lab's slug from its code (or name) and makes it
// unique with the old id as a suffix; a changed code is reported.
func (r *flaskRun) freeSlug(ctx context.Context, l ports.FlaskLab) (string, error) {
	from := strings.TrimSpace(l.Code)
	if from == "" {
		from = l.Name
	}
	slug := NormalizeSlug(from)
	if slug == "" {
		return "", nil
	}
	candidate := slug
	for attempt := 0; ; attempt++ {
		taken, err := r.d.Ledger.SlugTaken(ctx, candidate)
		if err != nil {
			return "", err
		}
		if !taken {
			break
		}
		if attempt == 1 {
			return "", nil
		}
		candidate = strings.Trim(truncateRunes(slug, 50), "-") + fmt.Sprintf("-%d", l.ID)
	}
	if candidate != strings.ToLower(from) {
		note := ""
		if candidate != slug {
			note = "slug taken; the old id was appended"
		}
		r.rep.Renamed = append(r.rep.Renamed, ImportRename{Kind: ImportOrganizations, OldID: fmt.Sprint(l.ID), From: from, To: candidate, Note: note})
	}
	return candidate, nil
}

func (r *flaskRun) attributes(ctx context.Context, snap ports.FlaskSnapshot) error {
	known, err := r.known(ctx, ports.LegacyAttribute)
	if err != nil {
		return err
	}
	catalog, err := r.d.Perms.List(ctx, true)
	if err != nil {
		return err
	}
	byID, byName := map[uuid.UUID]string{}, map[string]uuid.UUID{}
	for _, p := range catalog {
		byID[p.ID], byName[p.Name] = p.Name, p.ID
	}
	for _, a := range snap.Attributes {
		if id, ok := known[a.ID]; ok {
			r.perms[a.ID] = byID[id]
			r.rep.Existing[ImportPermissions]++
			continue
		}
		name := NormalizePermissionName(a.Name)
		if _, fe := domain.ParsePermissionName("name", name); fe != nil {
			r.rep.skip(ImportPermissions, a.ID, "cannot make a permission name of %q", a.Name)
			continue
		}
		note := ""
		if id, ok := byName[name]; ok {
			if mine := r.ownsPermission(id); mine {
				// Two old names normalise to one: keep them apart.
				name = strings.TrimRight(truncateRunes(name, 110), "._") + fmt.Sprintf("_%d", a.ID)
				note = "another attribute has the same normalised name; the old id was appended"
			} else {
				// The operator created it in UMS already: the old
				// attribute means the same thing.
				r.perms[a.ID] = name
				r.rep.Renamed = append(r.rep.Renamed, ImportRename{Kind: ImportPermissions, OldID: fmt.Sprint(a.ID),
					From: a.Name, To: name, Note: "merged with the existing UMS permission"})
				if err := r.remember(ctx, ports.LegacyAttribute, a.ID, id); err != nil {
					return err
				}
				r.rep.Existing[ImportPermissions]++
				continue
			}
		}
		if name != a.Name {
			r.rep.Renamed = append(r.rep.Renamed, ImportRename{Kind: ImportPermissions, OldID: fmt.Sprint(a.ID), From: a.Name, To: name, Note: note})
		}
		desc, _ := domain.ParseDescription("description", truncateRunes(a.Description, 2000))
		cat, _ := domain.ParseDescription("category", truncateRunes(a.Category, 100))
		created := timeOr(a.CreatedAt, r.d.Clock.Now())
		p := domain.Permission{ID: r.d.IDs.NewID(), Name: name, Description: desc, Category: cat, IsActive: a.IsActive,
			CreatedAt: created, UpdatedAt: created}
		if err := r.d.Perms.Create(ctx, p); err != nil {
			return fmt.Errorf("attribute %d: %w", a.ID, err)
		}
		byName[name] = p.ID
		r.perms[a.ID] = name
		if err := r.remember(ctx, ports.LegacyAttribute, a.ID, p.ID); err != nil {
			return err
		}
		r.rep.Imported[ImportPermissions]++
	}
	return nil
}

// ownsPermission reports whether a permission came from the old database.
func (r *flaskRun) ownsPermission(id uuid.UUID) bool {
	for _, v := range r.ids[ports.LegacyAttribute] {
		if v == id {
			return true
		}
	}
	return false
}
