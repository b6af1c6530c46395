package application

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWebhookBackoffDoublesWithJitterAndACap(t *testing.T) {
	w := &WebhookWorker{cfg: WebhookDeliveryConfig{RetryBase: 5 * time.Second}}
	w.Jitter = func() float64 { return 0.5 }
	assert.Equal(t, 5*time.Second, w.backoff(1))
	assert.Equal(t, 10*time.Second, w.backoff(2))
	assert.Equal(t, 40*time.Second, w.backoff(4))
	assert.Equal(t, webhookBackoffMax, w.backoff(40), "capped, never overflowing")
	w.Jitter = func() float64 { return 0 }
	assert.Equal(t, 4*time.Second, w.backoff(1), "-20%")
	w.Jitter = func() float64 { return 0.999999 }
	assert.InDelta(t, float64(6*time.Second), float64(w.backoff(1)), float64(time.Millisecond), "+20%")
}
