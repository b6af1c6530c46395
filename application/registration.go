package application

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// RegisterInput is what a new user sends.
type RegisterInput struct {
	Email     string
	Username  string
	Password  string
	FirstName string
	LastName  string
}

// Registration creates accounts: self-service sign-up and the first system
// administrator.
type Registration struct {
	users  ports.UserRepository
	tx     ports.TxManager
	hasher ports.PasswordHasher
	audit  ports.AuditLog
	clock  ports.Clock
	ids    ports.IDGenerator
	cfg    PasswordConfig
	// mailbox sends the verification mail of a sign-up; nil sends none.
	mailbox *Mailbox
}

// PasswordConfig is the deployment's password policy and expiry.
type PasswordConfig struct {
	Policy domain.PasswordPolicy
	// MaxAge, when positive, makes passwords expire that long after being set.
	MaxAge time.Duration
}

// NewRegistration wires the registration use case.
func NewRegistration(users ports.UserRepository, tx ports.TxManager, hasher ports.PasswordHasher,
	audit ports.AuditLog, clock ports.Clock, ids ports.IDGenerator, cfg PasswordConfig, mailbox *Mailbox,
) *Registration {
	return &Registration{users: users, tx: tx, hasher: hasher, audit: audit, clock: clock, ids: ids, cfg: cfg, mailbox: mailbox}
}

// Register signs up a new, active, non-admin user. It returns a KindInvalid
// error listing every broken rule, domain.ErrEmailTaken,
// domain.ErrUsernameTaken or domain.ErrHashingOverloaded.
func (r *Registration) Register(ctx context.Context, in RegisterInput) (*domain.User, error) {
	return r.create(ctx, in, false, domain.ActionUserRegistered)
}

// CreateAdmin creates a system administrator under the same rules, for the
// `ums admin create` command.
func (r *Registration) CreateAdmin(ctx context.Context, in RegisterInput) (*domain.User, error) {
	return r.create(ctx, in, true, domain.ActionAdminCreated)
}

// createBy makes a user for an administrator (actor): verified address, no
// mail, audited as the administrator's act.
func (r *Registration) createBy(ctx context.Context, in RegisterInput, admin bool, actor *uuid.UUID) (*domain.User, error) {
	return r.build(ctx, in, admin, domain.ActionUserCreatedByAdmin, actor)
}

func (r *Registration) create(ctx context.Context, in RegisterInput, admin bool, action string) (*domain.User, error) {
	return r.build(ctx, in, admin, action, nil)
}

func (r *Registration) build(ctx context.Context, in RegisterInput, admin bool, action string, actor *uuid.UUID) (*domain.User, error) {
	p, err := r.validate(in)
	if err != nil {
		return nil, err
	}
	hash, err := r.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	p.ID = r.ids.NewID()
	p.PasswordHash = hash
	p.IsSystemAdmin = admin
	p.Now = r.clock.Now()
	p.PasswordMaxAge = r.cfg.MaxAge
	// The operator vouches for the address of an administrator made at
	// the CLI, where no mail may be set up yet, as does an administrator
	// creating a user.
	p.EmailVerified = admin || actor != nil
	u := domain.NewUser(p)
	err = r.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := r.users.Create(ctx, u); err != nil {
			return err
		}
		if !admin && actor == nil && r.mailbox != nil {
			if err := r.mailbox.sendToken(ctx, u, domain.PurposeEmailVerify, u.Email().String(), u.Email().String()); err != nil {
				return err
			}
		}
		ev := domain.NewAuditEvent(ctx, r.ids.NewID(), p.Now, action, domain.OutcomeSuccess)
		switch {
		case actor != nil:
			ev.ActorID = actor
		case !admin:
			// A sign-up is the user's own act; an admin is created by the
			// operator at the CLI, which has no user id.
			ev.ActorID = ptr(u.ID())
		}
		ev.TargetType, ev.TargetID = "user", u.ID().String()
		return r.audit.Record(ctx, ev)
	})
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

func (r *Registration) validate(in RegisterInput) (domain.NewUserParams, error) {
	var fields []domain.FieldError
	email, fe := domain.ParseEmail(in.Email)
	if fe != nil {
		fields = append(fields, *fe)
	} else if email.Reserved() {
		// Service accounts' synthetic addresses live there.
		fields = append(fields, domain.ErrReservedEmail("email"))
	}
	username, fe := domain.ParseUsername(in.Username)
	if fe != nil {
		fields = append(fields, *fe)
	}
	first, fe := domain.ParsePersonName("first_name", in.FirstName)
	if fe != nil {
		fields = append(fields, *fe)
	}
	last, fe := domain.ParsePersonName("last_name", in.LastName)
	if fe != nil {
		fields = append(fields, *fe)
	}
	fields = append(fields, r.cfg.Policy.Check("password", in.Password,
		domain.PasswordSubject{Username: username.String(), Email: email.String()})...)
	if len(fields) > 0 {
		return domain.NewUserParams{}, domain.Invalid(fields...)
	}
	return domain.NewUserParams{Email: email, Username: username, FirstName: first, LastName: last}, nil
}
