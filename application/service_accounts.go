package application

import (
	"context"
	"encoding/base32"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// ServiceAccountsDeps are what service accounts need.
type ServiceAccountsDeps struct {
	Accounts   ports.ServiceAccountRepository
	Keys       ports.ServiceAccountKeyRepository
	Ledger     ports.AssertionLedger
	KeyParser  ports.ClientKeyParser
	Assertions ports.ClientAssertionVerifier
	Users      ports.UserRepository
	Members    ports.MembershipRepository
	Orgs       ports.OrgRepository
	Clients    ports.OAuthClientRepository
	Grants     ports.OAuthGrantRepository
	Policy     *Policy
	Sessions   *Sessions
	Revoker    *Revoker
	Tx         ports.TxManager
	Audit      ports.AuditLog
	Clock      ports.Clock
	IDs        ports.IDGenerator
	Random     io.Reader
}

// ServiceAccountsConfig tunes the checks of client assertions.
type ServiceAccountsConfig struct {
	// Leeway tolerates clock differences with the clients.
	Leeway time.Duration
}

// ServiceAccounts are the machine identities of organizations: managed by
// their organization's admins (and system admins), members of their
// organization with a role, authenticated by OAuth 2.0 client credentials
// (a client secret or a registered public key) at the token endpoint.
// Their access tokens are sessions, so deactivating or deleting an
// account, rotating its secret or deleting a key ends them on every
// instance through the revocation list.
type ServiceAccounts struct {
	accounts   ports.ServiceAccountRepository
	keys       ports.ServiceAccountKeyRepository
	ledger     ports.AssertionLedger
	parser     ports.ClientKeyParser
	assertions ports.ClientAssertionVerifier
	users      ports.UserRepository
	members    ports.MembershipRepository
	orgs       ports.OrgRepository
	clients    ports.OAuthClientRepository
	grants     ports.OAuthGrantRepository
	policy     *Policy
	sessions   *Sessions
	revoker    *Revoker
	tx         ports.TxManager
	audit      ports.AuditLog
	clock      ports.Clock
	ids        ports.IDGenerator
	random     io.Reader
	cfg        ServiceAccountsConfig
}

// NewServiceAccounts wires service accounts.
func NewServiceAccounts(d ServiceAccountsDeps, cfg ServiceAccountsConfig) *ServiceAccounts {
	return &ServiceAccounts{accounts: d.Accounts, keys: d.Keys, ledger: d.Ledger, parser: d.KeyParser,
		assertions: d.Assertions, users: d.Users, members: d.Members, orgs: d.Orgs, clients: d.Clients,
		grants: d.Grants, policy: d.Policy, sessions: d.Sessions, revoker: d.Revoker, tx: d.Tx, audit: d.Audit,
		clock: d.Clock, ids: d.IDs, random: d.Random, cfg: cfg}
}

// noPassword is the password hash of every service account: no hasher
// encodes anything this way, so nothing ever matches it.
const noPassword = "!service-account"

// RevokeCredentialChanged ends a service account's tokens when its secret
// is rotated or one of its keys deleted.
const RevokeCredentialChanged = "credential_changed"

// errPeopleOnly refuses a change of service accounts to anything but a
// person's session: a leaked machine credential must not mint others
// that outlive it.
var errPeopleOnly = &domain.Error{Kind: domain.KindForbidden, Code: "service_account_not_allowed",
	Message: "service accounts are managed by people signed in, not by tokens"}

// ServiceAccountInput is a new account.
type ServiceAccountInput struct {
	Name        string
	Description string
	Role        string
}

// ServiceAccountPatch is a change of an account; nil leaves a field.
type ServiceAccountPatch struct {
	Name        *string
	Description *string
	IsActive    *bool
}

// manage checks that a person may manage the organization's accounts.
func (s *ServiceAccounts) manage(ctx context.Context, p domain.Principal, orgID uuid.UUID) (Caller, error) {
	if p.Kind != domain.PrincipalSession {
		return Caller{}, errPeopleOnly
	}
	c, _, _, err := s.policy.Org(ctx, p, orgID, ServiceAccountsManage)
	return c, err
}

// owned returns the organization's account id; another organization's
// (or a person) is domain.ErrServiceAccountNotFound.
func (s *ServiceAccounts) owned(ctx context.Context, orgID, id uuid.UUID) (domain.ServiceAccount, error) {
	a, err := s.accounts.ByID(ctx, id)
	if err != nil {
		return domain.ServiceAccount{}, err
	}
	if a.OrgID != orgID {
		return domain.ServiceAccount{}, domain.ErrServiceAccountNotFound
	}
	return a, nil
}

// Create makes an account in the organization with a role there.
func (s *ServiceAccounts) Create(ctx context.Context, p domain.Principal, orgID uuid.UUID, in ServiceAccountInput) (domain.ServiceAccount, error) {
	c, err := s.manage(ctx, p, orgID)
	if err != nil {
		return domain.ServiceAccount{}, err
	}
	var fields []domain.FieldError
	name, fe := domain.ParseServiceAccountName("name", in.Name)
	if fe != nil {
		fields = append(fields, *fe)
	}
	desc, fe := domain.ParseServiceAccountDescription("description", in.Description)
	if fe != nil {
		fields = append(fields, *fe)
	}
	role, fe := domain.ParseRole("role", in.Role)
	if fe != nil {
		fields = append(fields, *fe)
	}
	if len(fields) > 0 {
		return domain.ServiceAccount{}, domain.Invalid(fields...)
	}
	username, err := s.newUsername()
	if err != nil {
		return domain.ServiceAccount{}, err
	}
	now := s.clock.Now()
	id := s.ids.NewID()
	a := domain.ServiceAccount{ID: id, OrgID: orgID, Name: name, Description: desc, CreatedBy: ptr(c.ID()),
		CreatedAt: now, UpdatedAt: now}
	client := domain.OAuthClient{ID: a.ClientID(), Name: "service account " + username.String(),
		RedirectURIs: []string{}, PostLogoutRedirectURIs: []string{}, GrantTypes: []string{domain.GrantClientCredentials},
		CreatedAt: now, UpdatedAt: now, ServiceAccountID: &id}
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.users.Create(ctx, domain.NewServiceAccountUser(id, username, noPassword, now)); err != nil {
			return err
		}
		if err := s.accounts.Create(ctx, a, domain.MaxServiceAccountsPerOrg); err != nil {
			return err
		}
		m := domain.Membership{OrgID: orgID, UserID: id, Role: role, CreatedAt: now, UpdatedAt: now}
		if err := s.members.Add(ctx, m); err != nil {
			return err
		}
		if err := s.clients.Create(ctx, client); err != nil {
			return err
		}
		return s.record(ctx, c.ID(), domain.ActionServiceAccountCreated, a, map[string]any{
			"name": name, "role": string(role), "username": username.String()})
	})
	if err != nil {
		return domain.ServiceAccount{}, fmt.Errorf("create service account: %w", err)
	}
	return s.accounts.ByID(ctx, id)
}

// newUsername is "sa-" and 80 random bits: no person picks it by chance,
// and a collision fails the insert rather than reusing anyone's name.
func (s *ServiceAccounts) newUsername() (domain.Username, error) {
	b := make([]byte, 10)
	if _, err := io.ReadFull(s.random, b); err != nil {
		return domain.Username{}, fmt.Errorf("service account randomness: %w", err)
	}
	name := "sa-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	u, fe := domain.ParseUsername(name)
	if fe != nil {
		return domain.Username{}, fmt.Errorf("service account username %q: %s", name, fe.Message)
	}
	return u, nil
}

// List pages through the organization's accounts (any member may).
func (s *ServiceAccounts) List(ctx context.Context, p domain.Principal, orgID uuid.UUID, page ports.Page) ([]domain.ServiceAccount, string, error) {
	if _, _, _, err := s.policy.Org(ctx, p, orgID, ServiceAccountsRead); err != nil {
		return nil, "", err
	}
	return s.accounts.List(ctx, ports.ServiceAccountFilter{OrgID: &orgID}, page)
}

// ListAll pages through every organization's accounts (system admins).
func (s *ServiceAccounts) ListAll(ctx context.Context, p domain.Principal, f ports.ServiceAccountFilter, page ports.Page) ([]domain.ServiceAccount, string, error) {
	if _, err := s.policy.RequireSystemAdmin(ctx, p); err != nil {
		return nil, "", err
	}
	return s.accounts.List(ctx, f, page)
}

// Get returns one of the organization's accounts (any member may).
func (s *ServiceAccounts) Get(ctx context.Context, p domain.Principal, orgID, id uuid.UUID) (domain.ServiceAccount, error) {
	if _, _, _, err := s.policy.Org(ctx, p, orgID, ServiceAccountsRead); err != nil {
		return domain.ServiceAccount{}, err
	}
	return s.owned(ctx, orgID, id)
}

// Update renames, describes, deactivates or reactivates an account,
// writing only what it names. Deactivation ends its tokens.
func (s *ServiceAccounts) Update(ctx context.Context, p domain.Principal, orgID, id uuid.UUID, in ServiceAccountPatch) (domain.ServiceAccount, error) {
	c, err := s.manage(ctx, p, orgID)
	if err != nil {
		return domain.ServiceAccount{}, err
	}
	ch, err := accountChange(in)
	if err != nil {
		return domain.ServiceAccount{}, err
	}
	now := s.clock.Now()
	ch.At = now
	var revoked []uuid.UUID
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		a, err := s.owned(ctx, orgID, id)
		if err != nil {
			return err
		}
		var fields []string
		if ch.Name != nil || ch.Description != nil {
			if err := s.accounts.Update(ctx, id, ch); err != nil {
				return err
			}
			fields = changedFields(ch)
		}
		action := domain.ActionServiceAccountUpdated
		if in.IsActive != nil {
			u, err := s.users.ByID(ctx, id)
			if err != nil {
				return err
			}
			access := u.ChangeAccess(in.IsActive, nil, nil, now)
			if err := s.users.SetAccess(ctx, id, access); err != nil {
				return err
			}
			fields = append(fields, access.Fields...)
			if access.Deactivated() {
				action = domain.ActionServiceAccountDeactivated
				if revoked, err = s.revoker.EndUserSessions(ctx, id, uuid.Nil, domain.RevokeByAdmin, now); err != nil {
					return err
				}
			}
		}
		return s.record(ctx, c.ID(), action, a, map[string]any{"fields": fields, "sessions_revoked": len(revoked)})
	})
	if err != nil {
		return domain.ServiceAccount{}, err
	}
	if err := s.revoker.Announce(ctx, revoked, now); err != nil {
		return domain.ServiceAccount{}, err
	}
	return s.accounts.ByID(ctx, id)
}

func accountChange(in ServiceAccountPatch) (domain.ServiceAccountChange, error) {
	var (
		ch     domain.ServiceAccountChange
		fields []domain.FieldError
	)
	if in.Name != nil {
		name, fe := domain.ParseServiceAccountName("name", *in.Name)
		if fe != nil {
			fields = append(fields, *fe)
		}
		ch.Name = &name
	}
	if in.Description != nil {
		desc, fe := domain.ParseServiceAccountDescription("description", *in.Description)
		if fe != nil {
			fields = append(fields, *fe)
		}
		ch.Description = &desc
	}
	if len(fields) > 0 {
		return domain.ServiceAccountChange{}, domain.Invalid(fields...)
	}
	return ch, nil
}

func changedFields(ch domain.ServiceAccountChange) []string {
	var out []string
	if ch.Name != nil {
		out = append(out, "name")
	}
	if ch.Description != nil {
		out = append(out, "description")
	}
	return out
}

// Delete removes an account with its membership, grants, client, keys
// and tokens, never its organization's last admin.
func (s *ServiceAccounts) Delete(ctx context.Context, p domain.Principal, orgID, id uuid.UUID) error {
	c, err := s.manage(ctx, p, orgID)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	var revoked []uuid.UUID
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		a, err := s.owned(ctx, orgID, id)
		if err != nil {
			return err
		}
		if a.Role == domain.RoleAdmin {
			n, err := s.members.LockAdmins(ctx, orgID)
			if err != nil {
				return err
			}
			if err := domain.KeepOrgAdmin(n); err != nil {
				return err
			}
		}
		// Revoked before the rows go, so the revocation is announced
		// and holds on instances that already accepted a token.
		if revoked, err = s.revoker.EndUserSessions(ctx, id, uuid.Nil, domain.RevokeByAdmin, now); err != nil {
			return err
		}
		if err := s.accounts.Delete(ctx, id); err != nil {
			return err
		}
		return s.record(ctx, c.ID(), domain.ActionServiceAccountDeleted, a, map[string]any{"name": a.Name})
	})
	if err != nil {
		return err
	}
	return s.revoker.Announce(ctx, revoked, now)
}

// record audits an act of actor on account a.
func (s *ServiceAccounts) record(ctx context.Context, actor uuid.UUID, action string, a domain.ServiceAccount, details map[string]any) error {
	return recordAudit(ctx, s.audit, s.ids, s.clock, actor, action, "service_account", a.ID.String(), &a.OrgID, details)
}
