package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/domain"
)

const clientsUsage = `usage:
  ums clients create --name NAME --redirect-uri URI [--redirect-uri URI]... [--post-logout-uri URI]...
                     [--public] [--first-party] [--grant authorization_code|client_credentials|refresh_token]...
  ums clients list
  ums clients rotate-secret CLIENT_ID
  ums clients delete CLIENT_ID`

// repeated is a flag given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

type clientOut struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret,omitempty"`
	Name         string   `json:"name,omitempty"`
	Public       bool     `json:"public"`
	FirstParty   bool     `json:"first_party"`
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	GrantTypes   []string `json:"grant_types,omitempty"`
}

func clients(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(clientsUsage)
	}
	var run func(*application.OAuthClients) error
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("clients create", flag.ContinueOnError)
		fs.SetOutput(stderr)
		var spec domain.OAuthClientSpec
		var redirects, postLogout, grants repeated
		fs.StringVar(&spec.Name, "name", "", "client name shown to users")
		fs.Var(&redirects, "redirect-uri", "exact redirect URI (repeatable)")
		fs.Var(&postLogout, "post-logout-uri", "where logout may return (repeatable)")
		fs.Var(&grants, "grant", "grant type (repeatable; default authorization_code and refresh_token)")
		fs.BoolVar(&spec.Public, "public", false, "a public client (SPA, native app): no secret, PKCE only")
		fs.BoolVar(&spec.FirstParty, "first-party", false, "your own application: no consent page")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		spec.RedirectURIs, spec.PostLogoutRedirectURIs, spec.GrantTypes = redirects, postLogout, grants
		run = func(oc *application.OAuthClients) error {
			c, secret, err := oc.Create(ctx, nil, spec)
			if err != nil {
				return err
			}
			return enc.Encode(clientOut{ClientID: c.ID, ClientSecret: secret, Name: c.Name, Public: c.Public,
				FirstParty: c.FirstParty, RedirectURIs: c.RedirectURIs, GrantTypes: c.GrantTypes})
		}
	case "list":
		run = func(oc *application.OAuthClients) error {
			cs, err := oc.List(ctx, nil)
			if err != nil {
				return err
			}
			out := make([]clientOut, len(cs))
			for i, c := range cs {
				out[i] = clientOut{ClientID: c.ID, Name: c.Name, Public: c.Public, FirstParty: c.FirstParty,
					RedirectURIs: c.RedirectURIs, GrantTypes: c.GrantTypes}
			}
			return enc.Encode(out)
		}
	case "rotate-secret", "delete":
		if len(args) != 2 {
			return errors.New(clientsUsage)
		}
		id := args[1]
		run = func(oc *application.OAuthClients) error {
			if args[0] == "delete" {
				if err := oc.Delete(ctx, nil, id); err != nil {
					return err
				}
				_, err := fmt.Fprintf(stdout, "client %s deleted\n", id)
				return err
			}
			secret, err := oc.RotateSecret(ctx, nil, id)
			if err != nil {
				return err
			}
			return enc.Encode(clientOut{ClientID: id, ClientSecret: secret})
		}
	default:
		return errors.New(clientsUsage)
	}
	cfg, log, err := configAndLogger()
	if err != nil {
		return err
	}
	return bootstrap.WithOAuthClients(ctx, cfg, log.WithOptions(zap.IncreaseLevel(zap.WarnLevel)), run)
}
