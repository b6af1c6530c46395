package http

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/ums-project/ums/application"
)

type wellKnownHandlers struct {
	keys   *application.Keys
	issuer string
}

// jwks publishes the active and still-needed retired public keys. It reads
// the shared store on each request, so a rotation on any instance shows at
// once; verifiers cache it for a minute and refetch on an unknown kid.
func (h *wellKnownHandlers) jwks(c echo.Context) error {
	keys, err := h.keys.PublicKeys(c.Request().Context())
	if err != nil {
		return err
	}
	set := jwk.NewSet()
	for _, k := range keys {
		jk, err := jwk.FromRaw(k.PublicKey)
		if err != nil {
			return fmt.Errorf("jwk from key %s: %w", k.KID, err)
		}
		for name, v := range map[string]any{jwk.KeyIDKey: k.KID, jwk.AlgorithmKey: jwa.EdDSA, jwk.KeyUsageKey: "sig"} {
			if err := jk.Set(name, v); err != nil {
				return fmt.Errorf("jwk %s: %w", name, err)
			}
		}
		if err := set.AddKey(jk); err != nil {
			return fmt.Errorf("jwks add: %w", err)
		}
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=60")
	return c.JSON(http.StatusOK, set)
}

func (h *wellKnownHandlers) openIDConfiguration(c echo.Context) error {
	iss := strings.TrimSuffix(h.issuer, "/")
	return c.JSON(http.StatusOK, map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              iss + "/.well-known/jwks.json",
		"id_token_signing_alg_values_supported": []string{"EdDSA"},
	})
}
