package mail_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ums-project/ums/adapters/mail"
	"github.com/ums-project/ums/ports"
)

func TestLogMailerLogsTheWholeMail(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	m := mail.NewLogMailer(zap.New(core))
	msg := ports.Mail{
		To: "ada@example.com", Subject: "Reset your password",
		Text: "Open https://ums.example.com/reset?token=tok123\n", HTML: "<p>html</p>",
	}
	require.NoError(t, m.Send(context.Background(), msg))

	require.Equal(t, 1, logs.Len())
	e := logs.All()[0]
	assert.Equal(t, zapcore.InfoLevel, e.Level)
	fields := e.ContextMap()
	assert.Equal(t, "ada@example.com", fields["to"])
	assert.Equal(t, "Reset your password", fields["subject"])
	assert.Equal(t, msg.Text, fields["text"], "links and tokens included")
}

func TestLogMailerToleratesANilLogger(t *testing.T) {
	assert.NoError(t, mail.NewLogMailer(nil).Send(context.Background(), ports.Mail{To: "x@example.com"}))
}
