package legacyapi

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/ums-project/ums/ports"
)

// idCacheSize bounds each direction of the id cache; the mapping never
// changes once made, so forgetting everything when full is only a cost.
const idCacheSize = 100_000

// ids translates the old integer ids, remembering the answers: the
// mapping of a row never changes, so the cache is never stale.
type ids struct {
	store ports.LegacyIDs

	mu    sync.RWMutex
	toNew map[string]uuid.UUID
	toOld map[uuid.UUID]int64
}

func newIDs(store ports.LegacyIDs) *ids {
	return &ids{store: store, toNew: map[string]uuid.UUID{}, toOld: map[uuid.UUID]int64{}}
}

func (m *ids) remember(kind string, old int64, id uuid.UUID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.toNew) >= idCacheSize {
		m.toNew, m.toOld = map[string]uuid.UUID{}, map[uuid.UUID]int64{}
	}
	m.toNew[kind+":"+strconv.FormatInt(old, 10)], m.toOld[id] = id, old
}

// old is the integer id of a row, allocated when it has none yet.
func (m *ids) old(ctx context.Context, kind string, id uuid.UUID) (int64, error) {
	m.mu.RLock()
	old, ok := m.toOld[id]
	m.mu.RUnlock()
	if ok {
		return old, nil
	}
	old, err := m.store.OldID(ctx, kind, id)
	if err != nil {
		return 0, err
	}
	m.remember(kind, old, id)
	return old, nil
}

// new is the UMS id of an old integer id; an unknown one is the kind's
// not-found error.
func (m *ids) new(ctx context.Context, kind string, old int64) (uuid.UUID, error) {
	m.mu.RLock()
	id, ok := m.toNew[kind+":"+strconv.FormatInt(old, 10)]
	m.mu.RUnlock()
	if ok {
		return id, nil
	}
	id, err := m.store.NewID(ctx, kind, old)
	if err != nil {
		return uuid.Nil, err
	}
	m.remember(kind, old, id)
	return id, nil
}

// parseOldID reads a path id the way the old service's routes matched
// them: digits only.
func parseOldID(s string) (int64, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
