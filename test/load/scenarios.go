package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
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

// take removes a random session (for refresh, which spends it); nil when
// the pool is empty.
func (p *sessions) take(rng *rand.Rand) *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.items) == 0 {
		return nil
	}
	i := rng.IntN(len(p.items))
	s := p.items[i]
	p.items[i] = p.items[len(p.items)-1]
	p.items = p.items[:len(p.items)-1]
	return s
}

// pick returns a random session without removing it.
func (p *sessions) pick(rng *rand.Rand) *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.items) == 0 {
		return nil
	}
	return p.items[rng.IntN(len(p.items))]
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
	base     string
	data     *seeded
	pool     *sessions
	regCount atomic.Int64
	runID    string
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

func (b *bench) refresh(ctx context.Context, _ int, rng *rand.Rand) (int, bool) {
	s := b.pool.take(rng)
	if s == nil {
		return 0, false
	}
	body, _ := json.Marshal(map[string]string{"refresh_token": s.refresh})
	status, resp, err := call(ctx, http.MethodPost, b.base+"/api/v1/auth/refresh", "", body)
	var t tokenAnswer
	if err != nil || status != http.StatusOK || json.Unmarshal(resp, &t) != nil {
		return status, false
	}
	b.pool.add(&session{user: s.user, access: t.AccessToken, refresh: t.RefreshToken})
	return status, true
}

func (b *bench) me(ctx context.Context, _ int, rng *rand.Rand) (int, bool) {
	s := b.pool.pick(rng)
	if s == nil {
		return 0, false
	}
	status, _, err := call(ctx, http.MethodGet, b.base+"/api/v1/me", s.access, nil)
	return status, err == nil && status == http.StatusOK
}

func (b *bench) authorize(ctx context.Context, _ int, rng *rand.Rand) (int, bool) {
	s := b.pool.pick(rng)
	if s == nil {
		return 0, false
	}
	u := b.data.users[s.user]
	// One permission from the role's global defaults, one from the
	// organization's role permissions and the user's own grant.
	body, _ := json.Marshal(map[string]any{"org_id": u.org,
		"permissions": []string{permName(rng.IntN(5)), permName(5 + rng.IntN(2)), permName(10 + s.user%10)}})
	status, resp, err := call(ctx, http.MethodPost, b.base+"/api/v1/authorize", s.access, body)
	if err != nil || status != http.StatusOK {
		return status, false
	}
	var a struct {
		Allowed bool `json:"allowed"`
	}
	return status, json.Unmarshal(resp, &a) == nil && a.Allowed
}

func (b *bench) register(ctx context.Context, w int, _ *rand.Rand) (int, bool) {
	n := b.regCount.Add(1)
	name := fmt.Sprintf("reg%s%d", b.runID, n)
	body, _ := json.Marshal(map[string]string{"email": name + "@bench.example", "username": name, "password": benchPassword})
	status, _, err := call(ctx, http.MethodPost, b.base+"/api/v1/auth/register", "", body)
	return status, err == nil && status == http.StatusCreated
}

// mix is the production-like blend: 70% token checks (half GET /me, half
// POST /authorize), 20% refresh, 10% login.
func (b *bench) mix(ctx context.Context, w int, rng *rand.Rand) (int, bool) {
	switch r := rng.Float64(); {
	case r < 0.35:
		return b.me(ctx, w, rng)
	case r < 0.70:
		return b.authorize(ctx, w, rng)
	case r < 0.90:
		return b.refresh(ctx, w, rng)
	default:
		return b.login(ctx, w, rng)
	}
}
