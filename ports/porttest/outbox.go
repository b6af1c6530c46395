package porttest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/ports"
)

// OutboxStore is what the mail outbox contract suite needs from an adapter.
type OutboxStore struct {
	Outbox ports.MailOutbox
	Tx     ports.TxManager
}

// RunMailOutbox runs the contract of ports.MailOutbox against the store
// newStore returns; every subtest gets a fresh, empty store.
func RunMailOutbox(t *testing.T, newStore func(t *testing.T) OutboxStore) {
	ctx := context.Background()
	// Whole microseconds: the precision every store keeps.
	base := time.Date(2030, 3, 4, 5, 6, 7, 123456000, time.UTC)
	const lease = time.Minute

	enqueue := func(t *testing.T, s OutboxStore, at time.Time) (uuid.UUID, ports.Mail) {
		t.Helper()
		id, m := uuid.New(), OutboxTestMail()
		require.NoError(t, s.Outbox.Enqueue(ctx, id, m, at))
		return id, m
	}
	claimIDs := func(t *testing.T, s OutboxStore, now time.Time, limit int) []uuid.UUID {
		t.Helper()
		got, err := s.Outbox.Claim(ctx, now, lease, limit)
		require.NoError(t, err)
		return outboxIDs(got)
	}

	t.Run("enqueue_and_claim_round_trip", func(t *testing.T) {
		s := newStore(t)
		id, m := enqueue(t, s, base)
		noHTML := ports.Mail{To: "plain@example.com", Subject: "Text only", Text: "just text\n"}
		plainID := uuid.New()
		require.NoError(t, s.Outbox.Enqueue(ctx, plainID, noHTML, base.Add(time.Second)))

		got, err := s.Outbox.Claim(ctx, base.Add(time.Second), lease, 10)
		require.NoError(t, err)
		require.Len(t, got, 2)
		byID := map[uuid.UUID]ports.OutboxMail{}
		for _, g := range got {
			byID[g.ID] = g
		}
		assert.Equal(t, ports.OutboxMail{ID: id, Mail: m, Attempts: 1}, byID[id], "bodies come back intact")
		assert.Equal(t, ports.OutboxMail{ID: plainID, Mail: noHTML, Attempts: 1}, byID[plainID])
	})

	t.Run("duplicate_id_is_refused", func(t *testing.T) {
		s := newStore(t)
		id, m := enqueue(t, s, base)
		assert.Error(t, s.Outbox.Enqueue(ctx, id, m, base))
	})

	t.Run("not_due_yet_is_not_claimed", func(t *testing.T) {
		s := newStore(t)
		id, _ := enqueue(t, s, base.Add(time.Hour))
		assert.Empty(t, claimIDs(t, s, base, 10))
		assert.Empty(t, claimIDs(t, s, base.Add(time.Hour-time.Microsecond), 10))
		assert.Equal(t, []uuid.UUID{id}, claimIDs(t, s, base.Add(time.Hour), 10), "due exactly at its time")
	})

	t.Run("claim_respects_limit_and_takes_the_longest_waiting_first", func(t *testing.T) {
		s := newStore(t)
		var ids []uuid.UUID
		for i := range 5 {
			id, _ := enqueue(t, s, base.Add(time.Duration(4-i)*time.Second))
			ids = append(ids, id)
		}
		got := claimIDs(t, s, base.Add(time.Minute), 2)
		assert.ElementsMatch(t, []uuid.UUID{ids[4], ids[3]}, got)
		got = claimIDs(t, s, base.Add(time.Minute), 10)
		assert.ElementsMatch(t, ids[:3], got)
		assert.Empty(t, claimIDs(t, s, base.Add(time.Minute), 0), "limit 0 claims nothing")
	})

	t.Run("claimed_rows_are_hidden_until_the_lease_ends", func(t *testing.T) {
		s := newStore(t)
		id, m := enqueue(t, s, base)
		got, err := s.Outbox.Claim(ctx, base, lease, 10)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, 1, got[0].Attempts)

		assert.Empty(t, claimIDs(t, s, base, 10), "claimed")
		assert.Empty(t, claimIDs(t, s, base.Add(lease-time.Microsecond), 10), "lease not over")

		got, err = s.Outbox.Claim(ctx, base.Add(lease), lease, 10)
		require.NoError(t, err)
		require.Len(t, got, 1, "claimable again once the lease ends")
		assert.Equal(t, id, got[0].ID)
		assert.Equal(t, 2, got[0].Attempts, "each claim is an attempt")
		assert.Equal(t, m, got[0].Mail)
	})

	t.Run("sent_is_never_claimed_again", func(t *testing.T) {
		s := newStore(t)
		id, _ := enqueue(t, s, base)
		other, _ := enqueue(t, s, base)
		require.Len(t, claimIDs(t, s, base, 10), 2)
		require.NoError(t, s.Outbox.MarkSent(ctx, id, base.Add(time.Second)))

		later := base.Add(24 * time.Hour)
		assert.Equal(t, []uuid.UUID{other}, claimIDs(t, s, later, 10))
		assert.Empty(t, claimIDs(t, s, later.Add(lease/2), 10), "other is leased")
		assert.Equal(t, []uuid.UUID{other}, claimIDs(t, s, later.Add(365*24*time.Hour), 10))

		require.NoError(t, s.Outbox.MarkSent(ctx, id, base.Add(time.Hour)), "marking twice is harmless")
		require.NoError(t, s.Outbox.MarkSent(ctx, uuid.New(), base), "an unknown id is ignored")
	})

	t.Run("failed_with_next_is_claimable_at_next", func(t *testing.T) {
		s := newStore(t)
		id, m := enqueue(t, s, base)
		require.Len(t, claimIDs(t, s, base, 10), 1)
		next := base.Add(10 * time.Minute)
		require.NoError(t, s.Outbox.MarkFailed(ctx, id, "451 try again later", &next))

		assert.Empty(t, claimIDs(t, s, next.Add(-time.Microsecond), 10), "not before next")
		got, err := s.Outbox.Claim(ctx, next, lease, 10)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, ports.OutboxMail{ID: id, Mail: m, Attempts: 2}, got[0])
	})

	t.Run("failed_with_next_earlier_than_the_lease_is_honoured", func(t *testing.T) {
		s := newStore(t)
		id, _ := enqueue(t, s, base)
		require.Len(t, claimIDs(t, s, base, 10), 1)
		next := base.Add(time.Second)
		require.NoError(t, s.Outbox.MarkFailed(ctx, id, "connection refused", &next))
		assert.Equal(t, []uuid.UUID{id}, claimIDs(t, s, next, 10))
	})

	t.Run("failed_without_next_is_never_claimed_again", func(t *testing.T) {
		s := newStore(t)
		id, _ := enqueue(t, s, base)
		other, _ := enqueue(t, s, base)
		require.Len(t, claimIDs(t, s, base, 10), 2)
		require.NoError(t, s.Outbox.MarkFailed(ctx, id, "550 mailbox unavailable", nil))

		later := base.Add(365 * 24 * time.Hour)
		assert.Equal(t, []uuid.UUID{other}, claimIDs(t, s, later, 10), "only the other one comes back")
		require.NoError(t, s.Outbox.MarkSent(ctx, other, later))
		assert.Empty(t, claimIDs(t, s, later.Add(100*365*24*time.Hour), 10))

		next := later
		require.NoError(t, s.Outbox.MarkFailed(ctx, id, "again", &next), "a given-up message stays given up")
		assert.Empty(t, claimIDs(t, s, later.Add(200*365*24*time.Hour), 10))
		require.NoError(t, s.Outbox.MarkFailed(ctx, uuid.New(), "unknown", nil), "an unknown id is ignored")
	})

	t.Run("long_and_multibyte_reasons_are_stored", func(t *testing.T) {
		s := newStore(t)
		id, _ := enqueue(t, s, base)
		require.Len(t, claimIDs(t, s, base, 10), 1)
		next := base.Add(time.Minute)
		require.NoError(t, s.Outbox.MarkFailed(ctx, id, strings.Repeat("é", 2000), &next))
		assert.Equal(t, []uuid.UUID{id}, claimIDs(t, s, next, 10))
	})

	t.Run("enqueue_joins_the_transaction", func(t *testing.T) {
		s := newStore(t)
		boom := errors.New("boom")
		var rolledBack uuid.UUID
		err := s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			rolledBack = uuid.New()
			require.NoError(t, s.Outbox.Enqueue(ctx, rolledBack, OutboxTestMail(), base))
			return boom
		})
		require.ErrorIs(t, err, boom)
		assert.Empty(t, claimIDs(t, s, base.Add(time.Hour), 10), "a rolled-back enqueue leaves nothing")

		committed := uuid.New()
		require.NoError(t, s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			return s.Outbox.Enqueue(ctx, committed, OutboxTestMail(), base)
		}))
		assert.Equal(t, []uuid.UUID{committed}, claimIDs(t, s, base.Add(time.Hour), 10))
	})

	t.Run("concurrent_claimers_never_share_a_message", func(t *testing.T) {
		s := newStore(t)
		const total, workers = 50, 5
		want := make([]uuid.UUID, 0, total)
		for i := range total {
			id, _ := enqueue(t, s, base.Add(time.Duration(i)*time.Millisecond))
			want = append(want, id)
		}
		now := base.Add(time.Minute)
		var (
			mu     sync.Mutex
			seen   = map[uuid.UUID]int{}
			errs   []error
			wg     sync.WaitGroup
			starts = make(chan struct{})
		)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-starts
				for {
					got, err := s.Outbox.Claim(ctx, now, time.Hour, 3)
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, g := range got {
						seen[g.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		close(starts)
		wg.Wait()
		require.Empty(t, errs)
		for id, n := range seen {
			assert.Equal(t, 1, n, "message %s claimed %d times", id, n)
		}
		got := make([]uuid.UUID, 0, len(seen))
		for id := range seen {
			got = append(got, id)
		}
		assert.ElementsMatch(t, want, got, "every message claimed")
	})
}

// OutboxTestMail is a message with both bodies and a one-time link in each,
// as the outbox holds them.
func OutboxTestMail() ports.Mail {
	token := uuid.NewString()
	link := "https://ums.example.com/reset?token=" + token
	return ports.Mail{
		To:      fmt.Sprintf("user-%s@example.com", token[:8]),
		Subject: "Reset your UMS password",
		Text:    "Hi Ada,\n\nOpen " + link + " to choose a new password.\nIt works for 1 hour.\n",
		HTML:    `<p>Hi Ada &amp; co,</p><p><a href="` + link + `">Choose a new password</a> – it works for 1 hour. Grüße</p>`,
	}
}

func outboxIDs(ms []ports.OutboxMail) []uuid.UUID {
	ids := make([]uuid.UUID, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	return ids
}
