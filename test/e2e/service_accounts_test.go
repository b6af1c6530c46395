package e2e

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/test/dbtest"
)

// saPath is the path of an organization's service accounts, or of one.
func saPath(org string, parts ...string) string {
	return "/api/v1/orgs/" + org + "/service-accounts" + strings.Join(append([]string{""}, parts...), "/")
}

// tokenAnswer is /oauth/token's answer, success or error.
type tokenAnswer struct {
	Status      int
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	Scope       string `json:"scope"`
	Error       string `json:"error"`
}

// tokenRequest posts a token request as a machine client does.
func tokenRequest(t *testing.T, s *server, form url.Values, basic ...string) tokenAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.base+"/oauth/token", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var a tokenAnswer
	require.NoError(t, json.NewDecoder(res.Body).Decode(&a))
	a.Status = res.StatusCode
	require.Less(t, a.Status, 500, "a client's fault is never a server error")
	return a
}

// secretToken gets a token with the client secret, or fails the test.
func secretToken(t *testing.T, s *server, clientID, secret string) string {
	t.Helper()
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: s.base + "/oauth/token"}
	tok, err := cc.Token(context.Background())
	require.NoError(t, err)
	return tok.AccessToken
}

// assertion signs a client assertion (RFC 7523) as a client library does.
func assertion(t *testing.T, key crypto.Signer, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	require.NoError(t, err)
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	obj, err := signer.Sign(payload)
	require.NoError(t, err)
	raw, err := obj.CompactSerialize()
	require.NoError(t, err)
	return raw
}

// assertionClaims are good claims of clientID's assertion for s.
func assertionClaims(s *server, clientID string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": clientID, "sub": clientID, "aud": s.base + "/oauth/token", "jti": uuid.NewString(),
		"iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix()}
}

func assertionForm(raw string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_assertion": {raw},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}}
}

func jwkOf(t *testing.T, key any) map[string]any {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: key})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// fieldCodes are the codes of a problem's field errors.
func fieldCodes(t *testing.T, r response) []string {
	t.Helper()
	_, fields := problemCode(t, r)
	out := make([]string, len(fields))
	for i, f := range fields {
		_, out[i], _ = strings.Cut(f, ":")
	}
	return out
}

// allowedTo asks /authorize, with token, whether its holder has perm in org.
func allowedTo(t *testing.T, s *server, token, org, perm string) bool {
	t.Helper()
	return decision(t, s, token, org, []string{perm}, "")["allowed"] == true
}

// newServiceAccount creates one in org as token and returns its id.
func newServiceAccount(t *testing.T, s *server, token, org, name, role string) map[string]any {
	t.Helper()
	res := s.authed(t, http.MethodPost, saPath(org), token, map[string]any{"name": name, "description": "runs at night", "role": role})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	return res.JSON(t)
}

func TestServiceAccounts(t *testing.T) {
	forEachDialectIssuer(t, func(t *testing.T, s *server) {
		w := newWorld(t, s)
		admin := w.tokens[orgAdmin]
		require.Equal(t, http.StatusCreated, w.sys(t, http.MethodPost, "/api/v1/permissions", map[string]any{"name": "lab.report.read"}).Status)
		require.Equal(t, http.StatusOK, s.authed(t, http.MethodPut, "/api/v1/orgs/"+w.orgA+"/role-permissions/viewer", admin,
			map[string]any{"permissions": []string{"lab.patient.read"}}).Status)

		sa := newServiceAccount(t, s, admin, w.orgA, "Nightly export", "viewer")
		id := sa["id"].(string)
		assert.Equal(t, id, sa["client_id"])
		assert.Equal(t, "viewer", sa["role"])
		assert.Equal(t, false, sa["has_secret"])
		assert.Equal(t, true, sa["is_active"])
		assert.Equal(t, w.ids[orgAdmin], sa["created_by"])
		username := sa["username"].(string)
		require.True(t, strings.HasPrefix(username, "sa-"))
		email := username + "@service-accounts.invalid"

		t.Run("only_the_organizations_admins_create_them", func(t *testing.T) {
			body := map[string]any{"name": "Intruder", "role": "admin"}
			for actor, want := range map[int]int{orgViewer: http.StatusForbidden, orgMember: http.StatusForbidden,
				plainUser: http.StatusNotFound, otherOrgAdmin: http.StatusNotFound} {
				res := s.authed(t, http.MethodPost, saPath(w.orgA), w.tokens[actor], body)
				assert.Equal(t, want, res.Status, actorNames[actor])
			}
			res := w.sys(t, http.MethodPost, saPath(w.orgA), map[string]any{"name": "By the operator", "role": "member"})
			assert.Equal(t, http.StatusCreated, res.Status, string(res.Body))
		})

		t.Run("malformed_input_is_a_problem", func(t *testing.T) {
			long := strings.Repeat("n", 101)
			res := s.authed(t, http.MethodPost, saPath(w.orgA), admin, map[string]any{"name": long, "role": "owner"})
			require.Equal(t, http.StatusUnprocessableEntity, res.Status)
			assert.ElementsMatch(t, []string{"invalid_length", "invalid_role"}, fieldCodes(t, res))
			assert.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json"))
			res = s.authed(t, http.MethodPost, saPath(w.orgA), admin, map[string]any{"name": "x", "role": "viewer", "password": "p"})
			assert.Equal(t, http.StatusBadRequest, res.Status)
			res = s.authed(t, http.MethodPost, saPath(w.orgA), admin, map[string]any{"name": "Nightly EXPORT", "role": "viewer"})
			assert.Equal(t, http.StatusConflict, res.Status, "names are unique in the organization")
			res = s.authed(t, http.MethodPatch, saPath(w.orgA, id), admin, map[string]any{"name": long})
			assert.Equal(t, http.StatusUnprocessableEntity, res.Status)
			res = s.authed(t, http.MethodGet, saPath(w.orgA, "not-a-uuid"), admin, nil)
			assert.Equal(t, http.StatusNotFound, res.Status)
			res = s.authed(t, http.MethodGet, saPath(w.orgB, id), w.tokens[otherOrgAdmin], nil)
			assert.Equal(t, http.StatusNotFound, res.Status, "another organization's account is not found")
		})

		t.Run("listed_apart_from_people", func(t *testing.T) {
			res := s.authed(t, http.MethodGet, saPath(w.orgA), w.tokens[orgViewer], nil)
			require.Equal(t, http.StatusOK, res.Status)
			assert.Contains(t, string(res.Body), id, "members see their organization's accounts")
			users := w.sys(t, http.MethodGet, "/api/v1/users?limit=200", nil)
			require.Equal(t, http.StatusOK, users.Status)
			assert.NotContains(t, string(users.Body), id)
			assert.NotContains(t, string(users.Body), "service-accounts.invalid")
			assert.Contains(t, string(w.sys(t, http.MethodGet, "/api/v1/service-accounts?org_id="+w.orgA, nil).Body), id)
			assert.Equal(t, http.StatusForbidden, s.authed(t, http.MethodGet, "/api/v1/service-accounts", admin, nil).Status)
			u := w.sys(t, http.MethodGet, "/api/v1/users/"+id, nil)
			require.Equal(t, http.StatusOK, u.Status)
			assert.Equal(t, "service", u.JSON(t)["kind"])
		})

		t.Run("it_never_signs_in_as_a_person", func(t *testing.T) {
			for _, l := range []string{email, username, strings.ToUpper(email)} {
				res := s.postJSON(t, loginPath, map[string]any{"login": l, "password": testPass})
				assert.Equal(t, http.StatusUnauthorized, res.Status, l)
			}
			b := newBrowser()
			p := b.get(t, s.base+"/ui/login")
			p = b.submit(t, p, "/ui/login", map[string]string{"login": email, "password": testPass})
			assert.Equal(t, "/ui/login", p.URL.Path)
			assert.Equal(t, "/ui/login", b.get(t, s.base+"/ui/account").URL.Path, "the browser is not signed in")

			require.Equal(t, http.StatusAccepted, s.postJSON(t, "/api/v1/auth/password/forgot", map[string]any{"email": email}).Status)
			var mails int
			require.NoError(t, s.db.NewRaw("SELECT count(*) FROM mail_outbox WHERE recipient = ?", email).Scan(context.Background(), &mails))
			assert.Zero(t, mails, "no mail goes to a service account's address")

			res := s.postJSON(t, registerPath, map[string]any{"email": "me@service-accounts.invalid", "username": "squatter",
				"password": testPass})
			require.Equal(t, http.StatusUnprocessableEntity, res.Status)
			assert.Contains(t, fieldCodes(t, res), "reserved_email")

			res = s.authed(t, http.MethodPost, "/api/v1/orgs/"+w.orgB+"/members", w.tokens[otherOrgAdmin],
				map[string]any{"user_id": id, "role": "admin"})
			assert.Equal(t, http.StatusUnprocessableEntity, res.Status, "a service account joins no other organization")
			res = w.sys(t, http.MethodPatch, "/api/v1/users/"+id, map[string]any{"is_system_admin": true})
			assert.Equal(t, http.StatusUnprocessableEntity, res.Status, "nor becomes a system administrator")
		})

		secretRes := s.authed(t, http.MethodPost, saPath(w.orgA, id, "secret"), admin, nil)
		require.Equal(t, http.StatusOK, secretRes.Status, string(secretRes.Body))
		secret := secretRes.JSON(t)["client_secret"].(string)
		require.Equal(t, id, secretRes.JSON(t)["client_id"])

		t.Run("client_secret_token_speaks_for_the_account", func(t *testing.T) {
			tok := secretToken(t, s, id, secret)
			assert.Equal(t, "RS256", jwtHeader(t, tok)["alg"])
			claims := claimsOf(t, tok)
			assert.Equal(t, id, claims["sub"])
			assert.True(t, allowedTo(t, s, tok, w.orgA, "lab.patient.read"), "a permission of its role")
			assert.False(t, allowedTo(t, s, tok, w.orgA, "lab.report.read"), "not a permission of its role")

			me := s.authed(t, http.MethodGet, "/api/v1/me", tok, nil)
			require.Equal(t, http.StatusOK, me.Status)
			assert.Equal(t, "service", me.JSON(t)["kind"])
			for _, path := range []string{"/api/v1/me/sessions", "/api/v1/me/consents", "/api/v1/me/export"} {
				res := s.authed(t, http.MethodGet, path, tok, nil)
				assert.Equal(t, http.StatusForbidden, res.Status, path)
				code, _ := problemCode(t, res)
				assert.Equal(t, "service_account_not_allowed", code, path)
			}
			res := s.authed(t, http.MethodPost, saPath(w.orgA), tok, map[string]any{"name": "Spawn", "role": "viewer"})
			assert.Equal(t, http.StatusForbidden, res.Status, "no machine credential mints another")

			a := tokenRequest(t, s, url.Values{"grant_type": {"client_credentials"}}, id, "wrong")
			assert.Equal(t, "invalid_client", a.Error)

			introspection := introspectAs(t, s, id, secret, tok)
			assert.Equal(t, true, introspection["active"])
			assert.Equal(t, id, introspection["sub"])
			assert.Equal(t, id, introspection["client_id"])
		})

		edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		var edKID, rsaKID string

		t.Run("keys_are_public_ones", func(t *testing.T) {
			ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			require.NoError(t, err)
			p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
			require.NoError(t, err)
			weak, err := rsa.GenerateKey(rand.Reader, 1024)
			require.NoError(t, err)
			privDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
			require.NoError(t, err)
			for name, c := range map[string]struct {
				key  any
				code string
			}{
				"private_jwk": {jwkOf(t, edPriv), "private_key"},
				"private_pem": {string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})), "private_key"},
				"bad_jwk":     {map[string]any{"kty": "RSA", "n": "AQAB"}, "invalid_jwk"},
				"weak_rsa":    {jwkOf(t, &weak.PublicKey), "weak_key"},
				"p384":        {jwkOf(t, &p384.PublicKey), "unsupported_key"},
				"a_number":    {42, "invalid_key"},
			} {
				res := s.authed(t, http.MethodPost, saPath(w.orgA, id, "keys"), admin, map[string]any{"public_key": c.key})
				require.Equal(t, http.StatusUnprocessableEntity, res.Status, "%s: %s", name, res.Body)
				assert.Contains(t, fieldCodes(t, res), c.code, name)
			}
			res := s.authed(t, http.MethodPost, saPath(w.orgA, id, "keys"), w.tokens[orgViewer], map[string]any{"public_key": jwkOf(t, edPub)})
			assert.Equal(t, http.StatusForbidden, res.Status)

			res = s.authed(t, http.MethodPost, saPath(w.orgA, id, "keys"), admin, map[string]any{"public_key": jwkOf(t, edPub)})
			require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
			edKID = res.JSON(t)["kid"].(string)
			assert.Equal(t, "EdDSA", res.JSON(t)["algorithm"])
			der, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
			require.NoError(t, err)
			res = s.authed(t, http.MethodPost, saPath(w.orgA, id, "keys"), admin,
				map[string]any{"public_key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))})
			require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
			rsaKID = res.JSON(t)["kid"].(string)
			res = s.authed(t, http.MethodPost, saPath(w.orgA, id, "keys"), admin, map[string]any{"public_key": jwkOf(t, edPub)})
			assert.Equal(t, http.StatusConflict, res.Status, "the same key twice")

			list := s.authed(t, http.MethodGet, saPath(w.orgA, id, "keys"), w.tokens[orgViewer], nil)
			require.Equal(t, http.StatusOK, list.Status)
			assert.Len(t, list.JSON(t)["items"], 2)
			assert.NotContains(t, string(list.Body), `"d"`)
		})

		t.Run("private_key_jwt_tokens", func(t *testing.T) {
			for name, signed := range map[string]string{
				"ed25519": assertion(t, edPriv, jose.EdDSA, edKID, assertionClaims(s, id)),
				"rsa":     assertion(t, rsaKey, jose.RS256, rsaKID, assertionClaims(s, id)),
			} {
				a := tokenRequest(t, s, assertionForm(signed))
				require.Equal(t, http.StatusOK, a.Status, "%s: %s", name, a.Error)
				assert.Equal(t, "Bearer", a.TokenType)
				assert.True(t, allowedTo(t, s, a.AccessToken, w.orgA, "lab.patient.read"), name)
				assert.False(t, allowedTo(t, s, a.AccessToken, w.orgA, "lab.report.read"), name)

				again := tokenRequest(t, s, assertionForm(signed))
				assert.Equal(t, "invalid_client", again.Error, "%s: an assertion authenticates once", name)
			}

			issuerAud := assertionClaims(s, id)
			issuerAud["aud"] = s.base
			form := assertionForm(assertion(t, edPriv, jose.EdDSA, edKID, issuerAud))
			form.Set("client_id", id)
			form.Set("scope", "orgs openid")
			a := tokenRequest(t, s, form)
			require.Equal(t, http.StatusOK, a.Status, a.Error)
			assert.Equal(t, "orgs", a.Scope, "a service account's token carries the orgs scope only")

			_, otherPriv, err := ed25519.GenerateKey(rand.Reader)
			require.NoError(t, err)
			for name, c := range map[string]struct {
				key  crypto.Signer
				alg  jose.SignatureAlgorithm
				kid  string
				edit func(map[string]any)
			}{
				"forged_signature": {otherPriv, jose.EdDSA, edKID, nil},
				"unknown_kid":      {edPriv, jose.EdDSA, "nope", nil},
				"nul_in_kid":       {edPriv, jose.EdDSA, "\x00", nil},
				"newline_in_kid":   {edPriv, jose.EdDSA, edKID + "\n", nil},
				"nul_in_jti":       {edPriv, jose.EdDSA, edKID, func(c map[string]any) { c["jti"] = "a\x00b" }},
				"other_audience":   {edPriv, jose.EdDSA, edKID, func(c map[string]any) { c["aud"] = "https://elsewhere.example" }},
				"expired":          {edPriv, jose.EdDSA, edKID, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }},
				"lives_for_a_day":  {edPriv, jose.EdDSA, edKID, func(c map[string]any) { c["exp"] = time.Now().Add(24 * time.Hour).Unix() }},
				"no_jti":           {edPriv, jose.EdDSA, edKID, func(c map[string]any) { delete(c, "jti") }},
				"subject_differs":  {edPriv, jose.EdDSA, edKID, func(c map[string]any) { c["sub"] = w.ids[orgAdmin] }},
				"wrong_algorithm":  {rsaKey, jose.PS256, rsaKID, nil},
			} {
				claims := assertionClaims(s, id)
				if c.edit != nil {
					c.edit(claims)
				}
				a := tokenRequest(t, s, assertionForm(assertion(t, c.key, c.alg, c.kid, claims)))
				assert.Equal(t, "invalid_client", a.Error, name)
				assert.Empty(t, a.AccessToken, name)
			}
			both := assertionForm(assertion(t, edPriv, jose.EdDSA, edKID, assertionClaims(s, id)))
			both.Set("client_secret", secret)
			assert.Equal(t, "invalid_request", tokenRequest(t, s, both).Error, "one authentication method per request")

			disco := s.request(t, http.MethodGet, "/.well-known/openid-configuration", "", nil, nil)
			require.Equal(t, http.StatusOK, disco.Status)
			d := disco.JSON(t)
			assert.Contains(t, strs(d["token_endpoint_auth_methods_supported"]), "private_key_jwt")
			assert.ElementsMatch(t, []string{"RS256", "PS256", "ES256", "EdDSA"}, strs(d["token_endpoint_auth_signing_alg_values_supported"]))
		})

		t.Run("keys_named_with_reserved_characters_are_deleted_by_their_escaped_kid", func(t *testing.T) {
			for _, kid := range []string{"projects/p/keys/k:1", "50%off", "a?b#c"} {
				pub, _, err := ed25519.GenerateKey(rand.Reader)
				require.NoError(t, err)
				jwk := jwkOf(t, pub)
				jwk["kid"] = kid
				res := s.authed(t, http.MethodPost, saPath(w.orgA, id, "keys"), admin, map[string]any{"public_key": jwk})
				require.Equal(t, http.StatusCreated, res.Status, "%s: %s", kid, res.Body)
				require.Equal(t, kid, res.JSON(t)["kid"])
				res = s.authed(t, http.MethodDelete, saPath(w.orgA, id, "keys", url.PathEscape(kid)), admin, nil)
				assert.Equal(t, http.StatusNoContent, res.Status, "%s: %s", kid, res.Body)
			}
		})

		t.Run("credential_changes_end_tokens_at_the_next_call", func(t *testing.T) {
			bySecret := secretToken(t, s, id, secret)
			byKey := tokenRequest(t, s, assertionForm(assertion(t, edPriv, jose.EdDSA, edKID, assertionClaims(s, id)))).AccessToken
			require.True(t, allowedTo(t, s, byKey, w.orgA, "lab.patient.read"))

			rotated := s.authed(t, http.MethodPost, saPath(w.orgA, id, "secret"), admin, nil)
			require.Equal(t, http.StatusOK, rotated.Status)
			for _, tok := range []string{bySecret, byKey} {
				assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodPost, "/api/v1/authorize", tok,
					map[string]any{"org_id": w.orgA, "permissions": []string{"lab.patient.read"}}).Status)
			}
			assert.Equal(t, "invalid_client", tokenRequest(t, s, url.Values{"grant_type": {"client_credentials"}}, id, secret).Error,
				"the old secret is refused")
			secret = rotated.JSON(t)["client_secret"].(string)
			fresh := secretToken(t, s, id, secret)
			assert.True(t, allowedTo(t, s, fresh, w.orgA, "lab.patient.read"))

			byKey = tokenRequest(t, s, assertionForm(assertion(t, rsaKey, jose.RS256, rsaKID, assertionClaims(s, id)))).AccessToken
			require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodDelete, saPath(w.orgA, id, "keys", rsaKID), admin, nil).Status)
			assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", byKey, nil).Status)
			a := tokenRequest(t, s, assertionForm(assertion(t, rsaKey, jose.RS256, rsaKID, assertionClaims(s, id))))
			assert.Equal(t, "invalid_client", a.Error, "a deleted key signs nothing")
			assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodDelete, saPath(w.orgA, id, "keys", rsaKID), admin, nil).Status)
		})

		t.Run("deactivation_ends_tokens_and_refuses_new_ones", func(t *testing.T) {
			tok := secretToken(t, s, id, secret)
			res := s.authed(t, http.MethodPatch, saPath(w.orgA, id), admin, map[string]any{"is_active": false, "description": "paused"})
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			assert.Equal(t, false, res.JSON(t)["is_active"])
			assert.Equal(t, "paused", res.JSON(t)["description"])
			assert.Equal(t, "Nightly export", res.JSON(t)["name"], "a patch writes only what it names")
			assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", tok, nil).Status)
			assert.False(t, introspectAs(t, s, id, secret, tok)["active"] == true)

			a := tokenRequest(t, s, url.Values{"grant_type": {"client_credentials"}}, id, secret)
			assert.NotEmpty(t, a.Error)
			assert.Empty(t, a.AccessToken)
			a = tokenRequest(t, s, assertionForm(assertion(t, edPriv, jose.EdDSA, edKID, assertionClaims(s, id))))
			assert.Empty(t, a.AccessToken)

			require.Equal(t, http.StatusOK, s.authed(t, http.MethodPatch, saPath(w.orgA, id), admin, map[string]any{"is_active": true}).Status)
			assert.True(t, allowedTo(t, s, secretToken(t, s, id, secret), w.orgA, "lab.patient.read"))
		})

		t.Run("audited_as_an_actor", func(t *testing.T) {
			res := w.sys(t, http.MethodGet, "/api/v1/audit-events?actor_id="+id+"&action=oauth.token_issued", nil)
			require.Equal(t, http.StatusOK, res.Status)
			assert.NotEmpty(t, res.JSON(t)["items"])
			for _, action := range []string{"service_account.created", "service_account.secret_rotated", "service_account.key_added",
				"service_account.key_removed", "service_account.deactivated"} {
				res := w.sys(t, http.MethodGet, "/api/v1/audit-events?target_id="+id+"&action="+action, nil)
				require.Equal(t, http.StatusOK, res.Status)
				assert.NotEmpty(t, res.JSON(t)["items"], action)
			}
			res = w.sys(t, http.MethodGet, "/api/v1/audit-events?action=oauth.client_auth_failed&target_id="+id, nil)
			require.Equal(t, http.StatusOK, res.Status)
			assert.NotEmpty(t, res.JSON(t)["items"], "refused assertions are recorded")
		})

		t.Run("deletion", func(t *testing.T) {
			tok := secretToken(t, s, id, secret)
			require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodDelete, saPath(w.orgA, id), admin, nil).Status)
			assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", tok, nil).Status)
			assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodGet, saPath(w.orgA, id), admin, nil).Status)
			assert.Equal(t, "invalid_client", tokenRequest(t, s, url.Values{"grant_type": {"client_credentials"}}, id, secret).Error)
			assert.Equal(t, http.StatusNotFound, w.sys(t, http.MethodGet, "/api/v1/users/"+id, nil).Status)
		})
	})
}

// introspectAs asks /oauth/introspect about token, authenticated as a
// client, and returns the answer.
func introspectAs(t *testing.T, s *server, clientID, secret, token string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.base+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var m map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&m))
	return m
}

// TestServiceAccountRevocationAcrossInstances runs two instances on one
// Postgres database: deactivating a service account or rotating its secret
// on one refuses its token on the other at the very next call.
func TestServiceAccountRevocationAcrossInstances(t *testing.T) {
	env := map[string]string{}
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	env["KEY_ENCRYPTION_KEY"] = base64.StdEncoding.EncodeToString(kek)
	dbURL := dbtest.PostgresURL(t)
	a := startIssuer(t, dbURL, env)
	// Both instances are one issuer behind one public address.
	env["PUBLIC_URL"] = a.cfg.PublicURL
	b := startServer(t, dbURL, env)

	w := newWorld(t, a)
	admin := w.tokens[orgAdmin]
	require.Equal(t, http.StatusOK, a.authed(t, http.MethodPut, "/api/v1/orgs/"+w.orgA+"/role-permissions/member", admin,
		map[string]any{"permissions": []string{"lab.patient.read"}}).Status)
	id := newServiceAccount(t, a, admin, w.orgA, "Clustered job", "member")["id"].(string)
	secret := a.authed(t, http.MethodPost, saPath(w.orgA, id, "secret"), admin, nil).JSON(t)["client_secret"].(string)

	tok := secretToken(t, a, id, secret)
	require.True(t, allowedTo(t, b, tok, w.orgA, "lab.patient.read"), "the other instance accepts the token")
	require.True(t, allowedTo(t, a, tok, w.orgA, "lab.patient.read"))

	require.Equal(t, http.StatusOK, b.authed(t, http.MethodPatch, saPath(w.orgA, id), admin, map[string]any{"is_active": false}).Status)
	assert.Equal(t, http.StatusUnauthorized, a.authed(t, http.MethodGet, "/api/v1/me", tok, nil).Status,
		"deactivated on B, refused on A at the next call")

	require.Equal(t, http.StatusOK, b.authed(t, http.MethodPatch, saPath(w.orgA, id), admin, map[string]any{"is_active": true}).Status)
	tok = secretToken(t, b, id, secret)
	require.True(t, allowedTo(t, a, tok, w.orgA, "lab.patient.read"))
	rotated := b.authed(t, http.MethodPost, saPath(w.orgA, id, "secret"), admin, nil)
	require.Equal(t, http.StatusOK, rotated.Status)
	assert.Equal(t, http.StatusUnauthorized, a.authed(t, http.MethodGet, "/api/v1/me", tok, nil).Status,
		"rotated on B, refused on A at the next call")

	// Deactivating the organization revokes no session: the account's
	// state is read at each call.
	secret = rotated.JSON(t)["client_secret"].(string)
	tok = secretToken(t, a, id, secret)
	require.Equal(t, http.StatusOK, b.authed(t, http.MethodGet, "/api/v1/me", tok, nil).Status)
	require.Equal(t, http.StatusNoContent, w.sys(t, http.MethodDelete, "/api/v1/orgs/"+w.orgA, nil).Status)
	assert.Equal(t, http.StatusUnauthorized, b.authed(t, http.MethodGet, "/api/v1/me", tok, nil).Status,
		"an account of a deactivated organization speaks no more")
	assert.NotEmpty(t, tokenRequest(t, b, url.Values{"grant_type": {"client_credentials"}}, id, secret).Error,
		"nor gets a token")
}

// TestServiceAccountsAreBoundedPerOrganization: an organization holds at
// most 100 service accounts; the next is a 409 until one is deleted, and
// other organizations are not affected.
func TestServiceAccountsAreBoundedPerOrganization(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		w := newWorld(t, s)
		admin := w.tokens[orgAdmin]
		var first string
		for i := range domain.MaxServiceAccountsPerOrg {
			sa := newServiceAccount(t, s, admin, w.orgA, fmt.Sprintf("robot %d", i), "viewer")
			if i == 0 {
				first = sa["id"].(string)
			}
		}
		res := s.authed(t, http.MethodPost, saPath(w.orgA), admin, map[string]any{"name": "one too many", "role": "viewer"})
		require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
		assert.Equal(t, "too_many_service_accounts", res.JSON(t)["code"])
		newServiceAccount(t, s, w.tokens[otherOrgAdmin], w.orgB, "robot in B", "viewer")

		require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodDelete, saPath(w.orgA, first), admin, nil).Status)
		newServiceAccount(t, s, admin, w.orgA, "after a deletion", "viewer")
	})
}

// TestAdminServiceAccountsProvisionButNeverMakeOrUnmakeAdmins: a service
// account with the admin role manages members (provisioning), but giving
// or taking the admin role is for people signed in, so a leaked machine
// credential cannot make a lasting admin of its holder nor push the
// people out.
func TestAdminServiceAccountsProvisionButNeverMakeOrUnmakeAdmins(t *testing.T) {
	forEachDialectIssuer(t, func(t *testing.T, s *server) {
		w := newWorld(t, s)
		admin := w.tokens[orgAdmin]
		sa := newServiceAccount(t, s, admin, w.orgA, "Provisioner", "admin")
		id := sa["id"].(string)
		res := s.authed(t, http.MethodPost, saPath(w.orgA, id, "secret"), admin, nil)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		machine := secretToken(t, s, id, res.JSON(t)["client_secret"].(string))
		members := "/api/v1/orgs/" + w.orgA + "/members"

		newcomer := registerUser(t, s, "provisioned")
		res = s.authed(t, http.MethodPost, members, machine, map[string]any{"user_id": newcomer, "role": "member"})
		require.Equal(t, http.StatusCreated, res.Status, "a machine provisions members: %s", res.Body)
		res = s.authed(t, http.MethodPatch, members+"/"+newcomer, machine, map[string]any{"role": "viewer"})
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))

		other := registerUser(t, s, "would_be_admin")
		refused := map[string]response{
			"add an admin": s.authed(t, http.MethodPost, members, machine, map[string]any{"user_id": other, "role": "admin"}),
			"promote":      s.authed(t, http.MethodPatch, members+"/"+newcomer, machine, map[string]any{"role": "admin"}),
			"demote a person admin": s.authed(t, http.MethodPatch, members+"/"+w.ids[orgAdmin], machine,
				map[string]any{"role": "viewer"}),
			"remove a person admin": s.authed(t, http.MethodDelete, members+"/"+w.ids[orgAdmin], machine, nil),
			"invite an admin": s.authed(t, http.MethodPost, invitationsPath(w.orgA), machine,
				map[string]any{"email": "boss@example.com", "role": "admin"}),
		}
		for name, res := range refused {
			assert.Equal(t, http.StatusForbidden, res.Status, "%s: %s", name, res.Body)
			code, _ := problemCode(t, res)
			assert.Equal(t, "service_account_not_allowed", code, name)
		}
		m := s.authed(t, http.MethodGet, members, admin, nil)
		require.Equal(t, http.StatusOK, m.Status)
		assert.Contains(t, string(m.Body), w.ids[orgAdmin], "the person admin stays")
		// The last admin who is a person stays: a service account admin
		// could not give the role to anyone.
		res = s.authed(t, http.MethodPatch, members+"/"+w.ids[orgAdmin], admin, map[string]any{"role": "member"})
		require.Equal(t, http.StatusConflict, res.Status, "the only person admin, beside a machine admin: %s", res.Body)
		res = s.authed(t, http.MethodPatch, members+"/"+id, admin, map[string]any{"role": "viewer"})
		require.Equal(t, http.StatusOK, res.Status, "a machine's admin role goes without another admin: %s", res.Body)

		assert.Equal(t, http.StatusOK, s.authed(t, http.MethodPatch, members+"/"+newcomer, admin,
			map[string]any{"role": "admin"}).Status, "a person still promotes")
	})
}

// TestServiceAccountTokenRacedWithRotationDoesNotOutliveIt races a token
// request with the current secret against the secret's rotation, at
// random offsets: a token issued on the old secret is ended by the
// rotation, whichever commits first.
func TestServiceAccountTokenRacedWithRotationDoesNotOutliveIt(t *testing.T) {
	forEachDialectIssuer(t, func(t *testing.T, s *server) {
		w := newWorld(t, s)
		admin := w.tokens[orgAdmin]
		id := newServiceAccount(t, s, admin, w.orgA, "Raced", "viewer")["id"].(string)
		post := func(req *http.Request) (int, map[string]any) {
			time.Sleep(time.Duration(mrand.IntN(3000)) * time.Microsecond)
			res, err := s.client.Do(req)
			if err != nil {
				return 0, nil
			}
			defer func() { _ = res.Body.Close() }()
			var out map[string]any
			_ = json.NewDecoder(res.Body).Decode(&out)
			return res.StatusCode, out
		}
		rotation := func() *http.Request {
			req, _ := http.NewRequest(http.MethodPost, s.base+saPath(w.orgA, id, "secret"), nil)
			req.Header.Set("Authorization", "Bearer "+admin)
			return req
		}
		tokenWith := func(secret string) *http.Request {
			form := url.Values{"grant_type": {"client_credentials"}}
			req, _ := http.NewRequest(http.MethodPost, s.base+"/oauth/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			return req
		}
		status, body := post(rotation())
		require.Equal(t, http.StatusOK, status)
		secret := body["client_secret"].(string)
		issued := 0
		for try := range 30 {
			var (
				wg               sync.WaitGroup
				tokStatus, rotSt int
				tokBody, rotBody map[string]any
			)
			wg.Add(2)
			go func() { defer wg.Done(); tokStatus, tokBody = post(tokenWith(secret)) }()
			go func() { defer wg.Done(); rotSt, rotBody = post(rotation()) }()
			wg.Wait()
			require.Equal(t, http.StatusOK, rotSt, "try %d", try)
			secret = rotBody["client_secret"].(string)
			if tokStatus != http.StatusOK {
				assert.Equal(t, http.StatusUnauthorized, tokStatus, "try %d: %v", try, tokBody)
				continue
			}
			issued++
			res := s.authed(t, http.MethodPost, "/api/v1/authorize", tokBody["access_token"].(string),
				map[string]any{"org_id": w.orgA, "permissions": []string{}})
			assert.Equal(t, http.StatusUnauthorized, res.Status, "try %d: a token issued on the old secret outlives its rotation", try)
		}
		t.Logf("%d of 30 tokens were issued on the old secret", issued)
	})
}
