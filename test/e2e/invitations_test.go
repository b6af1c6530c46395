package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/test/mailtest"
)

const acceptPath = "/api/v1/invitations/accept"

func invitationsPath(org string) string { return "/api/v1/orgs/" + org + "/invitations" }

// invite sends an invitation as token and requires it made.
func invite(t *testing.T, s *server, token, org, email, role string) map[string]any {
	t.Helper()
	res := s.authed(t, http.MethodPost, invitationsPath(org), token, map[string]any{"email": email, "role": role})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	return res.JSON(t)
}

// invitationToken waits for the next unseen invitation mail to `to` and
// returns the token of its console link.
func invitationToken(t *testing.T, s *server, smtp *mailtest.Server, to string, seen map[string]bool) string {
	t.Helper()
	token, _ := invitationMail(t, s, smtp, to, seen)
	return token
}

// invitationMail is invitationToken with the mail.
func invitationMail(t *testing.T, s *server, smtp *mailtest.Server, to string, seen map[string]bool) (string, mailtest.Message) {
	t.Helper()
	link := regexp.MustCompile(regexp.QuoteMeta(s.base+"/ui/invitations/accept?token=") + `[A-Za-z0-9_\-]+`)
	m := smtp.WaitFor(t, func(m mailtest.Message) bool {
		return mailtest.To(to)(m) && link.MatchString(m.Text) && !seen[string(m.Raw)]
	}, 10*time.Second)
	seen[string(m.Raw)] = true
	found := link.FindString(m.Text)
	assert.Contains(t, html.UnescapeString(m.HTML), found, "the HTML part carries the same link")
	u, err := url.Parse(found)
	require.NoError(t, err)
	token := u.Query().Get("token")
	require.Len(t, token, 43, "256 bits, base64url")
	return token, m
}

// inviteProblem requires a problem of status and returns its code.
func inviteProblem(t *testing.T, res response, status int) string {
	t.Helper()
	require.Equal(t, status, res.Status, string(res.Body))
	return res.JSON(t)["code"].(string)
}

// auditDetails are the details of every event of action, as JSON text.
func auditDetails(t *testing.T, s *server, action string) []string {
	t.Helper()
	var out []string
	require.NoError(t, s.db.NewRaw("SELECT CAST(details AS TEXT) FROM audit_events WHERE action = ?", action).
		Scan(context.Background(), &out))
	return out
}

// TestInvitationsEndToEnd is an org admin bringing people in by email
// alone, through the captured mail, on both stores.
func TestInvitationsEndToEnd(t *testing.T) {
	for name, dbURL := range dialects {
		t.Run(name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startIssuer(t, dbURL(t), selfMailEnv(smtp, nil))
			w := newWorld(t, s)
			seen := map[string]bool{}
			admin := w.tokens[orgAdmin]
			require.Equal(t, http.StatusOK, w.sys(t, http.MethodPut, "/api/v1/orgs/"+w.orgA+"/role-permissions/viewer",
				map[string]any{"permissions": []string{"lab.patient.read"}}).Status)

			// A person with an account: the invitation waits for a
			// verified address.
			registerUser(t, s, "invitee")
			verify := selfMailedLink(t, s, smtp, "invitee@example.com", "/ui/verify", seen)
			inv := invite(t, s, admin, w.orgA, "Invitee@Example.com", "viewer")
			assert.Equal(t, "invitee@example.com", inv["email"])
			assert.Equal(t, "pending", inv["status"])
			assert.Equal(t, w.ids[orgAdmin], inv["invited_by"])
			assert.NotContains(t, inv, "token")
			token, mail := invitationMail(t, s, smtp, "invitee@example.com", seen)
			assert.Contains(t, mail.Subject, "Org org-a")
			assert.Contains(t, mail.Text, "as viewer")

			list := s.authed(t, http.MethodGet, invitationsPath(w.orgA), admin, nil)
			require.Equal(t, http.StatusOK, list.Status, string(list.Body))
			assert.Contains(t, string(list.Body), inv["id"].(string))
			assert.NotContains(t, string(list.Body), token, "never the token")

			invitee := login(t, s, "invitee", testPass).AccessToken
			assert.Equal(t, "invitation_email_unverified",
				inviteProblem(t, s.authed(t, http.MethodPost, acceptPath, invitee, map[string]any{"token": token}), http.StatusForbidden))
			assert.Equal(t, "invitation_email_mismatch",
				inviteProblem(t, s.authed(t, http.MethodPost, acceptPath, w.tokens[plainUser], map[string]any{"token": token}),
					http.StatusForbidden), "another address's account")
			verifyToken := strings.TrimPrefix(verify, s.base+"/ui/verify?token=")
			require.Equal(t, http.StatusNoContent, s.postJSON(t, "/api/v1/auth/email/verify", map[string]any{"token": verifyToken}).Status)

			res := s.authed(t, http.MethodPost, acceptPath, invitee, map[string]any{"token": token})
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			body := res.JSON(t)
			assert.Equal(t, false, body["registered"])
			assert.Equal(t, "viewer", body["membership"].(map[string]any)["role"])
			assert.Equal(t, w.orgA, body["membership"].(map[string]any)["org_id"])
			d := decision(t, s, invitee, w.orgA, []string{"lab.patient.read"}, "")
			assert.Equal(t, true, d["allowed"], "a member with the invited role, and its permissions")

			assert.Equal(t, "invitation_already_accepted",
				inviteProblem(t, s.authed(t, http.MethodPost, acceptPath, invitee, map[string]any{"token": token}), http.StatusConflict),
				"accepting twice")
			assert.Equal(t, "invitation_already_accepted",
				inviteProblem(t, s.postJSON(t, acceptPath, map[string]any{"token": token, "username": "late", "password": testPass}),
					http.StatusConflict))
			assert.NotContains(t, string(s.authed(t, http.MethodGet, invitationsPath(w.orgA), admin, nil).Body), inv["id"].(string),
				"an accepted invitation is no longer listed")
			assert.Equal(t, "already_member", inviteProblem(t, s.authed(t, http.MethodPost, invitationsPath(w.orgA), admin,
				map[string]any{"email": "invitee@example.com", "role": "member"}), http.StatusConflict))

			// Two accepts of one token at once: exactly one joins.
			invite(t, s, w.tokens[otherOrgAdmin], w.orgB, "invitee@example.com", "member")
			raced := invitationToken(t, s, smtp, "invitee@example.com", seen)
			statuses := raceAccepts(t, s, invitee, raced, 6)
			assert.Equal(t, 1, statuses[http.StatusOK], "statuses %v", statuses)
			assert.Equal(t, 5, statuses[http.StatusConflict], "statuses %v", statuses)

			// Resend: the old link dies, the new one works.
			first := invite(t, s, admin, w.orgA, "resent@example.com", "member")
			old := invitationToken(t, s, smtp, "resent@example.com", seen)
			assert.Equal(t, "invitation_pending", inviteProblem(t, s.authed(t, http.MethodPost, invitationsPath(w.orgA), admin,
				map[string]any{"email": "RESENT@example.com", "role": "viewer"}), http.StatusConflict))
			again := s.authed(t, http.MethodPost, invitationsPath(w.orgA)+"/"+first["id"].(string)+"/resend", admin, nil)
			require.Equal(t, http.StatusOK, again.Status, string(again.Body))
			fresh := invitationToken(t, s, smtp, "resent@example.com", seen)
			assert.NotEqual(t, old, fresh)
			assert.Equal(t, "invitation_not_found",
				inviteProblem(t, s.postJSON(t, acceptPath, map[string]any{"token": old, "username": "resent", "password": testPass}),
					http.StatusNotFound), "the old link is dead")
			joined := s.postJSON(t, acceptPath, map[string]any{"token": fresh, "username": "resent", "password": testPass})
			require.Equal(t, http.StatusCreated, joined.Status, string(joined.Body))

			// Revoked.
			gone := invite(t, s, admin, w.orgA, "withdrawn@example.com", "member")
			goneToken := invitationToken(t, s, smtp, "withdrawn@example.com", seen)
			revoke := invitationsPath(w.orgA) + "/" + gone["id"].(string)
			require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodDelete, revoke, admin, nil).Status)
			assert.Equal(t, "invitation_revoked", inviteProblem(t, s.authed(t, http.MethodDelete, revoke, admin, nil), http.StatusConflict))
			assert.Equal(t, "invitation_revoked", inviteProblem(t, s.postJSON(t, acceptPath,
				map[string]any{"token": goneToken, "username": "withdrawn", "password": testPass}), http.StatusConflict))
			assert.Equal(t, "invitation_revoked", inviteProblem(t,
				s.authed(t, http.MethodPost, revoke+"/resend", admin, nil), http.StatusConflict))

			// Expired: aged in the store, as a clock moving on would.
			late := s.authed(t, http.MethodPost, invitationsPath(w.orgA), admin,
				map[string]any{"email": "late@example.com", "role": "viewer", "expires_in": 3600})
			require.Equal(t, http.StatusCreated, late.Status, string(late.Body))
			lateBody := late.JSON(t)
			created, err := time.Parse(time.RFC3339Nano, lateBody["created_at"].(string))
			require.NoError(t, err)
			expires, err := time.Parse(time.RFC3339Nano, lateBody["expires_at"].(string))
			require.NoError(t, err)
			assert.Equal(t, time.Hour, expires.Sub(created))
			lateToken := invitationToken(t, s, smtp, "late@example.com", seen)
			_, err = s.db.NewRaw("UPDATE org_invitations SET expires_at = ? WHERE id = ?",
				time.Now().Add(-time.Second).UTC(), lateBody["id"]).Exec(context.Background())
			require.NoError(t, err)
			assert.Equal(t, "invitation_expired", inviteProblem(t, s.postJSON(t, acceptPath,
				map[string]any{"token": lateToken, "username": "late", "password": testPass}), http.StatusConflict))
			listed := s.authed(t, http.MethodGet, invitationsPath(w.orgA), admin, nil)
			assert.Contains(t, string(listed.Body), `"status":"expired"`, "an expired invitation is listed, to resend")
			renewed := s.authed(t, http.MethodPost, invitationsPath(w.orgA)+"/"+lateBody["id"].(string)+"/resend", admin, nil)
			require.Equal(t, http.StatusOK, renewed.Status, string(renewed.Body))
			assert.Equal(t, "pending", renewed.JSON(t)["status"], "resending renews it")
			invitationToken(t, s, smtp, "late@example.com", seen)

			assertInvitationAccess(t, s, w)
			assertInvitationInputs(t, s, w)

			for _, a := range []string{domain.ActionInvitationCreated, domain.ActionInvitationResent, domain.ActionInvitationRevoked,
				domain.ActionInvitationAccepted, domain.ActionMemberAdded} {
				assert.NotEmpty(t, auditDetails(t, s, a), a)
			}
			failed := strings.Join(auditDetails(t, s, domain.ActionInvitationAcceptFailed), " ")
			for _, reason := range []string{"invitation_email_unverified", "invitation_email_mismatch", "invitation_already_accepted",
				"invitation_not_found", "invitation_revoked", "invitation_expired"} {
				assert.Contains(t, failed, reason)
			}
			sum := sha256.Sum256([]byte(fresh))
			var stored int
			require.NoError(t, s.db.NewRaw("SELECT COUNT(*) FROM org_invitations WHERE token_hash = ?", sum[:]).
				Scan(context.Background(), &stored))
			assert.Equal(t, 1, stored, "the token is stored as its SHA-256")
		})
	}
}

// raceAccepts sends n accepts of one token at once as token's holder and
// counts the statuses.
func raceAccepts(t *testing.T, s *server, bearer, token string, n int) map[int]int {
	t.Helper()
	body, err := json.Marshal(map[string]any{"token": token})
	require.NoError(t, err)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		start    = make(chan struct{})
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest(http.MethodPost, s.base+acceptPath, bytes.NewReader(body))
			if err != nil {
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+bearer)
			<-start
			res, err := s.client.Do(req)
			if err != nil {
				return
			}
			_ = res.Body.Close()
			mu.Lock()
			statuses[res.StatusCode]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return statuses
}

// assertInvitationAccess: org admins and system admins invite; a member or
// viewer is refused, a stranger or another organization's admin does not
// see the organization.
func assertInvitationAccess(t *testing.T, s *server, w *world) {
	t.Helper()
	body := map[string]any{"email": "policy@example.com", "role": "viewer"}
	for actor, want := range map[int]int{plainUser: http.StatusNotFound, orgViewer: http.StatusForbidden,
		orgMember: http.StatusForbidden, otherOrgAdmin: http.StatusNotFound} {
		assert.Equal(t, want, s.authed(t, http.MethodPost, invitationsPath(w.orgA), w.tokens[actor], body).Status, actorNames[actor])
		assert.Equal(t, want, s.authed(t, http.MethodGet, invitationsPath(w.orgA), w.tokens[actor], nil).Status, actorNames[actor])
	}
	assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodPost, invitationsPath(w.orgA), "", body).Status)
	made := invite(t, s, w.tokens[systemAdmin], w.orgA, "policy@example.com", "admin")
	path := invitationsPath(w.orgA) + "/" + made["id"].(string)
	assert.Equal(t, http.StatusForbidden, s.authed(t, http.MethodDelete, path, w.tokens[orgViewer], nil).Status)
	assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodDelete, path, w.tokens[plainUser], nil).Status)
	assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodDelete, invitationsPath(w.orgB)+"/"+made["id"].(string),
		w.tokens[otherOrgAdmin], nil).Status, "another organization's invitation")
	assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodPost, path+"/resend", w.tokens[plainUser], nil).Status)
	require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodDelete, path, w.tokens[orgAdmin], nil).Status)
}

// assertInvitationInputs: malformed inputs are 4xx problems naming the
// field.
func assertInvitationInputs(t *testing.T, s *server, w *world) {
	t.Helper()
	admin := w.tokens[orgAdmin]
	for name, body := range map[string]map[string]any{
		"email":      {"email": "not-an-address", "role": "viewer"},
		"role":       {"email": "x@example.com", "role": "owner"},
		"expires_in": {"email": "x@example.com", "role": "viewer", "expires_in": 10},
	} {
		res := s.authed(t, http.MethodPost, invitationsPath(w.orgA), admin, body)
		require.Equal(t, http.StatusUnprocessableEntity, res.Status, name)
		assert.Contains(t, string(res.Body), `"field":"`+name+`"`)
	}
	huge := s.authed(t, http.MethodPost, invitationsPath(w.orgA), admin,
		map[string]any{"email": "x@example.com", "role": "viewer", "expires_in": int64(1) << 62})
	assert.Equal(t, http.StatusUnprocessableEntity, huge.Status, "no overflow")
	assert.Equal(t, http.StatusBadRequest, s.authed(t, http.MethodPost, invitationsPath(w.orgA), admin,
		map[string]any{"email": "x@example.com", "role": "viewer", "token": "mine"}).Status, "unknown field")
	assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodPost, invitationsPath(w.orgA)+"/not-a-uuid/resend", admin, nil).Status)

	assert.Equal(t, "validation_failed", inviteProblem(t, s.postJSON(t, acceptPath, map[string]any{"token": ""}), http.StatusUnprocessableEntity))
	assert.Equal(t, "missing_token", inviteProblem(t, s.postJSON(t, acceptPath, map[string]any{"token": "abc"}), http.StatusUnauthorized),
		"neither signed in nor registering")
	assert.Equal(t, "validation_failed", inviteProblem(t, s.authed(t, http.MethodPost, acceptPath, w.tokens[plainUser],
		map[string]any{"token": "abc", "username": "x"}), http.StatusUnprocessableEntity), "signed in and registering")
	assert.Equal(t, "invitation_not_found", inviteProblem(t, s.postJSON(t, acceptPath,
		map[string]any{"token": "unknown", "username": "nobody", "password": testPass}), http.StatusNotFound))
	assert.Equal(t, "invitation_not_found", inviteProblem(t, s.postJSON(t, acceptPath,
		map[string]any{"token": strings.Repeat("a", 500), "username": "nobody", "password": testPass}), http.StatusNotFound))
	assert.Equal(t, http.StatusBadRequest, s.postJSON(t, acceptPath, map[string]any{"token": "abc", "email": "me@example.com"}).Status,
		"the address is the invitation's, not the client's")
}

// TestInvitationRegistrationCountsAsVerified registers through the link
// where the deployment requires verified addresses: the account signs in
// at once.
func TestInvitationRegistrationCountsAsVerified(t *testing.T) {
	for name, dbURL := range dialects {
		t.Run(name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startIssuer(t, dbURL(t), selfMailEnv(smtp, map[string]string{"REQUIRE_EMAIL_VERIFICATION": "true"}))
			_, err := bootstrap.CreateAdmin(context.Background(), s.cfg, zap.NewNop(), application.RegisterInput{
				Email: "root@example.com", Username: "root", Password: testPass})
			require.NoError(t, err)
			root := login(t, s, "root", testPass).AccessToken
			org := s.authed(t, http.MethodPost, "/api/v1/orgs", root, map[string]any{"name": "Lab", "slug": "lab"})
			require.Equal(t, http.StatusCreated, org.Status, string(org.Body))
			orgID := org.JSON(t)["id"].(string)
			invite(t, s, root, orgID, "colleague@example.com", "member")
			token := invitationToken(t, s, smtp, "colleague@example.com", map[string]bool{})

			weak := s.postJSON(t, acceptPath, map[string]any{"token": token, "username": "colleague", "password": "short"})
			require.Equal(t, http.StatusUnprocessableEntity, weak.Status, "the sign-up's password policy")
			assert.Contains(t, string(weak.Body), `"field":"password"`)

			res := s.postJSON(t, acceptPath, map[string]any{"token": token, "username": "colleague", "password": testPass,
				"first_name": "Col", "last_name": "League"})
			require.Equal(t, http.StatusCreated, res.Status, string(res.Body), "a refused password left the link usable")
			body := res.JSON(t)
			assert.Equal(t, true, body["registered"])
			user := body["user"].(map[string]any)
			assert.Equal(t, "colleague@example.com", user["email"])
			assert.Equal(t, true, user["email_verified"])
			assert.Equal(t, "member", body["membership"].(map[string]any)["role"])

			tk := login(t, s, "colleague", testPass)
			me := s.authed(t, http.MethodGet, "/api/v1/orgs/"+orgID+"/members", tk.AccessToken, nil)
			require.Equal(t, http.StatusOK, me.Status, string(me.Body))
			assert.Contains(t, string(me.Body), "colleague@example.com")
			assert.Equal(t, "invitation_already_accepted", inviteProblem(t, s.postJSON(t, acceptPath,
				map[string]any{"token": token, "username": "colleague2", "password": testPass}), http.StatusConflict))
			for _, m := range smtp.Messages() {
				assert.NotContains(t, m.Subject, "Confirm your email", "no verification mail: the link proved the address")
			}
		})
	}
}

// TestInvitationSendingIsRateLimited counts invitations per inviter and
// per organization (RATE_LIMIT_INVITE), and the link points at the web
// app of MAIL_LINK_BASE_URL when it is set.
func TestInvitationSendingIsRateLimited(t *testing.T) {
	for name, dbURL := range dialects {
		t.Run(name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, dbURL(t), mailEnv(smtp, map[string]string{"RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_INVITE": "2/1h"}))
			w := newWorld(t, s)
			admin := w.tokens[orgAdmin]
			first := invite(t, s, admin, w.orgA, "one@example.com", "viewer")
			token := mailedToken(t, smtp, "one@example.com", "/accept-invitation", map[string]bool{})
			assert.NotEmpty(t, token)
			res := s.authed(t, http.MethodPost, invitationsPath(w.orgA)+"/"+first["id"].(string)+"/resend", admin, nil)
			require.Equal(t, http.StatusOK, res.Status, "a resend counts too")
			res = s.authed(t, http.MethodPost, invitationsPath(w.orgA), admin, map[string]any{"email": "three@example.com", "role": "viewer"})
			assert.Equal(t, "rate_limited", inviteProblem(t, res, http.StatusTooManyRequests))
			assert.NotEmpty(t, res.Header.Get("Retry-After"))

			res = s.authed(t, http.MethodPost, invitationsPath(w.orgA), w.tokens[systemAdmin],
				map[string]any{"email": "four@example.com", "role": "viewer"})
			assert.Equal(t, http.StatusTooManyRequests, res.Status, "the organization's limit holds for every inviter")
			invite(t, s, w.tokens[otherOrgAdmin], w.orgB, "five@example.com", "viewer")
		})
	}
}

// TestInvitationsAreInTheInviteesExport: the personal data export (API
// and console file) lists the invitations addressed to the person,
// pending or accepted, never their tokens nor anyone else's invitations.
func TestInvitationsAreInTheInviteesExport(t *testing.T) {
	for name, dbURL := range dialects {
		t.Run(name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startIssuer(t, dbURL(t), selfMailEnv(smtp, nil))
			w := newWorld(t, s)
			seen := map[string]bool{}
			admin := w.tokens[orgAdmin]

			registerUser(t, s, "exported")
			pending := invite(t, s, admin, w.orgA, "exported@example.com", "viewer")
			pendingToken := invitationToken(t, s, smtp, "exported@example.com", seen)
			invite(t, s, admin, w.orgA, "somebody-else@example.com", "viewer")
			invitationToken(t, s, smtp, "somebody-else@example.com", seen)

			exportOf := func(token string) response {
				res := s.authed(t, http.MethodGet, "/api/v1/me/export", token, nil)
				require.Equal(t, http.StatusOK, res.Status, string(res.Body))
				assert.NotContains(t, string(res.Body), "token_hash")
				return res
			}
			ex := exportOf(login(t, s, "exported", testPass).AccessToken)
			listed := ex.JSON(t)["invitations"].([]any)
			require.Len(t, listed, 1, "only the invitations to the person's address")
			assert.Equal(t, pending["id"], listed[0].(map[string]any)["id"])
			assert.Equal(t, "pending", listed[0].(map[string]any)["status"])
			assert.NotContains(t, string(ex.Body), pendingToken)

			// Registered through the link: the accepted invitation is the
			// newcomer's, in the API export and in the console's file.
			joinerInv := invite(t, s, admin, w.orgA, "joiner@example.com", "member")
			joinerToken := invitationToken(t, s, smtp, "joiner@example.com", seen)
			joined := s.postJSON(t, acceptPath, map[string]any{"token": joinerToken, "username": "joiner", "password": testPass})
			require.Equal(t, http.StatusCreated, joined.Status, string(joined.Body))
			ex = exportOf(login(t, s, "joiner", testPass).AccessToken)
			listed = ex.JSON(t)["invitations"].([]any)
			require.Len(t, listed, 1)
			got := listed[0].(map[string]any)
			assert.Equal(t, joinerInv["id"], got["id"])
			assert.Equal(t, "accepted", got["status"])
			assert.NotEmpty(t, got["accepted_by"])
			assert.NotContains(t, string(ex.Body), joinerToken)

			b := newBrowser()
			require.Equal(t, "/ui/", selfSignIn(t, s, b, "joiner", testPass).URL.Path)
			_, body := consoleExport(t, s, b)
			var file struct {
				Invitations []map[string]any `json:"invitations"`
				Passkeys    []map[string]any `json:"passkeys"`
			}
			require.NoError(t, json.Unmarshal(body, &file))
			require.Len(t, file.Invitations, 1, string(body))
			assert.Equal(t, joinerInv["id"], file.Invitations[0]["id"])
			assert.Equal(t, "accepted", file.Invitations[0]["status"])
			assert.NotNil(t, file.Passkeys, "the file lists passkeys, as the API's export does")
			assert.NotContains(t, string(body), joinerToken)
		})
	}
}
