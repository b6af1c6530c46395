package mail

import (
	"context"

	"go.uber.org/zap"

	"github.com/ums-project/ums/ports"
)

// LogMailer "delivers" mail by writing it to the log, whole: recipient,
// subject and the text body with its links and one-time tokens.
//
// It is for development only. Anyone who can read the log can use the
// links in it to verify addresses and reset passwords, so production must
// never use it; bootstrap refuses it there.
type LogMailer struct{ log *zap.Logger }

var _ ports.Mailer = (*LogMailer)(nil)

// NewLogMailer returns a LogMailer writing to log at info level. See
// LogMailer: development only.
func NewLogMailer(log *zap.Logger) *LogMailer {
	if log == nil {
		log = zap.NewNop()
	}
	return &LogMailer{log: log.Named("mail")}
}

// Send implements ports.Mailer; it never fails.
func (l *LogMailer) Send(_ context.Context, m ports.Mail) error {
	l.log.Info("mail not sent, logged instead (development log mailer)",
		zap.String("to", m.To),
		zap.String("subject", m.Subject),
		zap.String("text", m.Text))
	return nil
}
