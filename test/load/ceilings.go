package main

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/adapters/crypto"
	"github.com/ums-project/ums/domain"
)

// Environment of the ceiling server, a child process of the benchmark so
// that its CPU and memory are measured apart from the load generator's.
const (
	envCeiling = "UMS_BENCH_CEILING" // "trivial" or "jwtdb"
	envAddr    = "UMS_BENCH_ADDR"
	envDB      = "UMS_BENCH_DB"
	envKey     = "UMS_BENCH_KEY" // hex Ed25519 seed
)

const (
	ceilingIssuer   = "http://bench.invalid"
	ceilingAudience = "ums"
	ceilingKID      = "bench"
)

// argon2Ceiling measures argon2id hashes per second with params on every
// core at once: the most logins (one verify each) this machine can do.
func argon2Ceiling(params *argon2id.Params, d time.Duration) float64 {
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if _, err := argon2id.CreateHash(benchPassword, params); err != nil {
					panic(err)
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

// runCeilingServer is the child's main: the Echo stack with the same
// http.Server limits as UMS, serving either a trivial handler or a bare
// one that verifies an EdDSA JWT with the same codec and reads the user's
// row (what GET /me must do at the least).
func runCeilingServer(kind string) error {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	switch kind {
	case "trivial":
		e.GET("/ping", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	case "jwtdb":
		seed, err := hex.DecodeString(os.Getenv(envKey))
		if err != nil || len(seed) != ed25519.SeedSize {
			return errors.New(envKey + " must be a hex Ed25519 seed")
		}
		key := domain.SigningKey{KID: ceilingKID, PrivateKey: ed25519.NewKeyFromSeed(seed)}
		key.PublicKey = key.PrivateKey.Public().(ed25519.PublicKey)
		db, err := sql.Open("pgx", os.Getenv(envDB))
		if err != nil {
			return err
		}
		// The same pool as UMS's defaults: 20 connections, all kept.
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		defer db.Close()
		codec := crypto.NewJWT(crypto.TokenConfig{Issuer: ceilingIssuer, Audience: ceilingAudience, Leeway: 30 * time.Second})
		lookup := func(_ context.Context, kid string) (domain.SigningKey, bool, error) { return key, kid == key.KID, nil }
		e.GET("/me", func(c echo.Context) error {
			tok, _ := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
			claims, err := codec.Verify(c.Request().Context(), tok, lookup)
			if err != nil {
				return c.NoContent(http.StatusUnauthorized)
			}
			var u struct {
				ID, Email, Username, First, Last string
				Active, Admin, Verified, MFA     bool
				Changed, Created, Updated        time.Time
			}
			err = db.QueryRowContext(c.Request().Context(), `SELECT id, email, username, first_name, last_name, is_active,
				is_system_admin, email_verified, mfa_enabled, password_changed_at, created_at, updated_at FROM users WHERE id = $1`,
				claims.Subject).Scan(&u.ID, &u.Email, &u.Username, &u.First, &u.Last, &u.Active, &u.Admin, &u.Verified, &u.MFA,
				&u.Changed, &u.Created, &u.Updated)
			if err != nil {
				return c.NoContent(http.StatusServiceUnavailable)
			}
			return c.JSON(http.StatusOK, u)
		})
	default:
		return fmt.Errorf("unknown ceiling %q", kind)
	}
	e.GET("/ready", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	srv := &http.Server{Addr: os.Getenv(envAddr), Handler: e, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ceilingToken signs an access token for user with the ceiling server's key.
func ceilingToken(seedHex, user string) (string, error) {
	seed, err := hex.DecodeString(seedHex)
	if err != nil {
		return "", err
	}
	priv := ed25519.NewKeyFromSeed(seed)
	codec := crypto.NewJWT(crypto.TokenConfig{Issuer: ceilingIssuer, Audience: ceilingAudience})
	now := time.Now()
	return codec.Sign(domain.AccessClaims{Subject: uuid.MustParse(user), SessionID: uuid.New(), TokenID: uuid.NewString(),
		IssuedAt: now, ExpiresAt: now.Add(15 * time.Minute)},
		domain.SigningKey{KID: ceilingKID, PrivateKey: priv, PublicKey: priv.Public().(ed25519.PublicKey)})
}
