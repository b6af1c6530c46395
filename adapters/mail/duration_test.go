package mail

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                               "",
		-time.Hour:                      "",
		30 * time.Second:                "less than a minute",
		time.Minute:                     "1 minute",
		15 * time.Minute:                "15 minutes",
		90 * time.Minute:                "90 minutes",
		time.Hour:                       "1 hour",
		time.Hour + 30*time.Second:      "1 hour",
		24 * time.Hour:                  "24 hours",
		36 * time.Hour:                  "36 hours",
		48 * time.Hour:                  "2 days",
		7 * 24 * time.Hour:              "7 days",
		7*24*time.Hour + 3*time.Hour:    "171 hours",
		59*time.Minute + 59*time.Second: "59 minutes",
	} {
		assert.Equal(t, want, humanDuration(d), "%s", d)
	}
}
