package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// assertionAlgorithms are the algorithms a service account's client
// assertion may be signed with: those of the keys it can register.
var assertionAlgorithms = []string{"RS256", "PS256", "ES256", "EdDSA"}

// admit lets a service account's client get a token only while it and
// its organization are active; other clients pass.
func (s *storage) admit(ctx context.Context, c domain.OAuthClient, method string) error {
	if err := s.accounts.AdmitClient(ctx, c, method); err != nil {
		if domain.KindOf(err) == domain.KindForbidden {
			return oidc.ErrUnauthorizedClient().WithDescription("the service account is deactivated")
		}
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// issueServiceToken opens the session a service account's access token
// stands for; the token's id is the session's.
func (s *storage) issueServiceToken(ctx context.Context, r serviceRequest) (string, time.Time, error) {
	sid, exp, err := s.accounts.IssueToken(ctx, application.ServiceTokenRequest{AccountID: r.account,
		ClientID: r.clientID, Scopes: r.scopes, Method: r.method, Proof: r.proof})
	if err != nil {
		if errors.Is(err, domain.ErrInvalidCredentials) {
			return "", time.Time{}, oidc.ErrInvalidClient().WithDescription("the client's credentials changed; authenticate again")
		}
		return "", time.Time{}, tokenError(err)
	}
	return sid.String(), exp, nil
}

// secretProof carries the client secret the library authenticated
// (storage.ClientCredentials) to the token request it then asks for
// (storage.ClientCredentialsTokenRequest), within one request.
type secretProof struct{ secret string }

type secretProofKey struct{}

// keepSecretProof records the secret a client authenticated with.
func keepSecretProof(ctx context.Context, secret string) {
	if p, ok := ctx.Value(secretProofKey{}).(*secretProof); ok {
		p.secret = secret
	}
}

// takeSecretProof is the secret recorded for this request, if any.
func takeSecretProof(ctx context.Context) application.CredentialProof {
	if p, ok := ctx.Value(secretProofKey{}).(*secretProof); ok {
		return application.CredentialProof{Secret: p.secret}
	}
	return application.CredentialProof{}
}

// serviceHandler puts in front of the library the two things it does not
// do: client_credentials authenticated by a client assertion (the
// library's grant knows only secrets, and its JWT checks neither EdDSA
// nor replays), and the algorithms such assertions may use in discovery.
func (p *Provider) serviceHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == PathToken && p.isAssertionGrant(r):
			p.assertionExchange(w, r)
		case r.Method == http.MethodPost && r.URL.Path == PathToken:
			// The library authenticates a client secret and asks for the
			// token request in two calls; the secret it checked is handed
			// from one to the other through the request's context.
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), secretProofKey{}, new(secretProof))))
		case r.Method == http.MethodGet && r.URL.Path == PathDiscovery:
			p.discovery(w, r, next)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// isAssertionGrant reports a client_credentials request carrying a
// client assertion. Parsing the form here leaves it parsed for the
// library, which reads the same values.
func (p *Provider) isAssertionGrant(r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		return false
	}
	return r.PostForm.Get("grant_type") == string(oidc.GrantTypeClientCredentials) &&
		(r.PostForm.Get("client_assertion") != "" || r.PostForm.Get("client_assertion_type") != "")
}

// assertionExchange is the client_credentials grant authenticated by
// private_key_jwt (RFC 7523 §2.2).
func (p *Provider) assertionExchange(w http.ResponseWriter, r *http.Request) {
	ctx := op.ContextWithIssuer(r.Context(), p.issuer)
	form := r.PostForm
	_, _, basic := r.BasicAuth()
	switch {
	case form.Get("client_assertion_type") != oidc.ClientAssertionTypeJWTAssertion:
		op.RequestError(w, r, oidc.ErrInvalidRequest().WithDescription("client_assertion_type must be %s",
			oidc.ClientAssertionTypeJWTAssertion), nil)
		return
	case basic || form.Get("client_secret") != "":
		// RFC 6749 §2.3: one authentication method per request.
		op.RequestError(w, r, oidc.ErrInvalidRequest().WithDescription("use one client authentication method"), nil)
		return
	}
	c, proof, err := p.st.accounts.AuthenticateAssertion(ctx, application.AssertionInput{
		Assertion: form.Get("client_assertion"), ClientID: form.Get("client_id"),
		Audiences: []string{p.issuer, p.issuer + PathToken}})
	if err != nil {
		if errors.Is(err, domain.ErrInvalidCredentials) {
			op.RequestError(w, r, oidc.ErrInvalidClient().WithDescription("the client assertion was refused"), nil)
			return
		}
		op.RequestError(w, r, oidc.ErrServerError().WithParent(err), nil)
		return
	}
	if err := p.st.admit(ctx, c, application.MethodPrivateKeyJWT); err != nil {
		op.RequestError(w, r, err, nil)
		return
	}
	req := newServiceRequest(c, strings.Fields(form.Get("scope")), application.MethodPrivateKeyJWT, proof, p.st.apiAudience)
	cl := client{c: c, loginURL: p.st.loginURL, idTTL: p.st.accessTTL, allowHTTP: p.st.allowHTTP}
	resp, err := op.CreateClientCredentialsTokenResponse(ctx, req, p.op, cl)
	if err != nil {
		op.RequestError(w, r, err, nil)
		return
	}
	httphelper.MarshalJSON(w, resp)
}

// discovery serves the library's document with the algorithms a client
// assertion may use at the token endpoint.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request, next http.Handler) {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	var doc map[string]json.RawMessage
	if rec.Code == http.StatusOK && json.Unmarshal(body, &doc) == nil {
		if algs, err := json.Marshal(assertionAlgorithms); err == nil {
			doc["token_endpoint_auth_signing_alg_values_supported"] = algs
			if b, err := json.Marshal(doc); err == nil {
				body = append(b, '\n')
			}
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = bytes.NewReader(body).WriteTo(w)
}
