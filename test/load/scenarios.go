package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// session is one logged-in user's token pair.
type session struct {
	user    int
	access  string
	refresh string
}

// sessions is the pool of live sessions the token scenarios draw from.
type sessions struct {
	mu    sync.Mutex
	items []*session
	cap   int
}

func (p *sessions) add(s *session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.items) < p.cap {
		p.items = append(p.items, s)
		return
	}
	p.items[rand.IntN(len(p.items))] = s
}

// all returns the sessions.
func (p *sessions) all() []*session {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.items)
}

func (p *sessions) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.items)
}

type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// bench holds what the scenarios share.
type bench struct {
	base  string
	data  *seeded
	pool  *sessions
	runID string
	// refreshTokens are the unspent refresh tokens of the pool's sessions.
	refreshTokens []string
}

func (b *bench) login(ctx context.Context, _ int, rng *rand.Rand) (int, bool) {
	i := rng.IntN(len(b.data.users))
	body, _ := json.Marshal(map[string]string{"login": b.data.users[i].username, "password": benchPassword})
	status, resp, err := call(ctx, http.MethodPost, b.base+"/api/v1/auth/login", "", body)
	if err != nil || status != http.StatusOK {
		return status, false
	}
	var t tokenAnswer
	if json.Unmarshal(resp, &t) != nil {
		return status, false
	}
	b.pool.add(&session{user: i, access: t.AccessToken, refresh: t.RefreshToken})
	return status, true
}

// absorb keeps what a wrk run handed back: the token pairs of logins
// (collect) or the refresh tokens left unspent (rotate, mix).
func (b *bench) absorb(mode string, tokens []string) {
	switch mode {
	case "collect":
		for _, t := range tokens {
			access, refresh, ok := strings.Cut(t, "\t")
			if !ok {
				continue
			}
			if i, ok := b.data.index[subject(access)]; ok {
				b.pool.add(&session{user: i, access: access, refresh: refresh})
				b.refreshTokens = append(b.refreshTokens, refresh)
			}
		}
	case "rotate", "mix":
		b.refreshTokens = tokens
	}
}

// subject reads the sub claim of a JWT the server just issued (no need
// to verify it here).
func subject(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Sub string `json:"sub"`
	}
	_ = json.Unmarshal(raw, &c)
	return c.Sub
}

func (b *bench) loginLines() []wrkLine {
	lines := make([]wrkLine, 0, 1024)
	for i := range min(1024, len(b.data.users)) {
		u := b.data.users[i*len(b.data.users)/min(1024, len(b.data.users))]
		body, _ := json.Marshal(map[string]string{"login": u.username, "password": benchPassword})
		lines = append(lines, wrkLine{kind: "login", body: string(body)})
	}
	return lines
}

func (b *bench) refreshLines() []wrkLine {
	lines := make([]wrkLine, len(b.refreshTokens))
	for i, t := range b.refreshTokens {
		lines[i] = wrkLine{kind: "refresh", token: t}
	}
	return lines
}

func (b *bench) meLines() []wrkLine {
	var lines []wrkLine
	for _, s := range b.pool.all() {
		lines = append(lines, wrkLine{kind: "/api/v1/me", token: s.access})
	}
	return lines
}

// authorizeLines ask, for each session, one permission from the role's
// global defaults, one from the organization's role permissions and the
// user's own grant: /authorize walks all three tiers.
func (b *bench) authorizeLines() []wrkLine {
	var lines []wrkLine
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range b.pool.all() {
		lines = append(lines, wrkLine{kind: "/api/v1/authorize", token: s.access, body: b.authorizeBody(s, rng)})
	}
	return lines
}

func (b *bench) authorizeBody(s *session, rng *rand.Rand) string {
	body, _ := json.Marshal(map[string]any{"org_id": b.data.users[s.user].org,
		"permissions": []string{permName(rng.IntN(5)), permName(5 + rng.IntN(2)), permName(10 + s.user%10)}})
	return string(body)
}

// registerLines is one template whose %d wrk.lua makes unique.
func (b *bench) registerLines() []wrkLine {
	name := "reg" + b.runID + "x%d"
	body, _ := json.Marshal(map[string]string{"email": name + "@bench.example", "username": name, "password": benchPassword})
	return []wrkLine{{kind: "register", body: string(body)}}
}

// mixLines is the production-like blend: 70% token checks (half GET /me,
// half POST /authorize), 20% refresh, 10% login.
func (b *bench) mixLines() []wrkLine {
	lines := append(b.meLines(), b.authorizeLines()...)
	lines = append(lines, b.refreshLines()...)
	return append(lines, b.loginLines()...)
}
