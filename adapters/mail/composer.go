// Package mail renders the messages UMS sends and delivers them: over SMTP
// in production, or into the log during development.
package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/ums-project/ums/ports"
)

//go:embed templates/*
var templateFS embed.FS

// kinds lists every message with a template; a kind missing here cannot be
// composed.
var kinds = []ports.MailKind{
	ports.MailVerifyEmail,
	ports.MailPasswordReset,
	ports.MailPasswordChanged,
	ports.MailEmailChanging,
	ports.MailMFAEnabled,
	ports.MailMFADisabled,
	ports.MailInvitation,
}

// Composer renders messages from the embedded templates: a plain-text body
// with the subject line (text/template) and an HTML body (html/template,
// which escapes every value it inserts).
type Composer struct {
	product string
	text    map[ports.MailKind]*texttemplate.Template
	html    map[ports.MailKind]*htmltemplate.Template
}

var _ ports.MailComposer = (*Composer)(nil)

// templateData is what the templates see.
type templateData struct {
	Product   string
	Subject   string
	Username  string
	Link      string
	NewEmail  string
	ExpiresIn string
	OrgName   string
	Role      string
	InvitedBy string
}

// buttonData is what the "button" template of the HTML layout sees.
type buttonData struct {
	Label string
	Link  string
}

// NewComposer parses every template up front, so a broken template stops
// the service at start rather than at the first mail of its kind.
func NewComposer(productName string) (*Composer, error) {
	productName = strings.TrimSpace(productName)
	if productName == "" {
		return nil, errors.New("mail composer: product name is empty")
	}
	c := &Composer{
		product: productName,
		text:    make(map[ports.MailKind]*texttemplate.Template, len(kinds)),
		html:    make(map[ports.MailKind]*htmltemplate.Template, len(kinds)),
	}
	funcs := htmltemplate.FuncMap{
		"action": func(label, link string) buttonData { return buttonData{Label: label, Link: link} },
	}
	for _, k := range kinds {
		txt, err := texttemplate.New(string(k)).Option("missingkey=error").
			ParseFS(templateFS, "templates/"+string(k)+".txt")
		if err != nil {
			return nil, fmt.Errorf("mail composer: parse %s text template: %w", k, err)
		}
		if txt.Lookup("subject") == nil {
			return nil, fmt.Errorf("mail composer: %s text template defines no subject", k)
		}
		html, err := htmltemplate.New(string(k)).Funcs(funcs).Option("missingkey=error").
			ParseFS(templateFS, "templates/layout.html", "templates/"+string(k)+".html")
		if err != nil {
			return nil, fmt.Errorf("mail composer: parse %s HTML template: %w", k, err)
		}
		c.text[k], c.html[k] = txt, html
	}
	// Render each kind once with sample data: html/template reports some
	// mistakes (a broken context, an undefined template) only on execution.
	for _, k := range kinds {
		sample := ports.MailData{Username: "sample", Link: "https://example.com/x?token=t",
			Token: "t", NewEmail: "new@example.com", ExpiresIn: time.Hour,
			OrgName: "Sample Org", Role: "member", InvitedBy: "Sample Admin"}
		if _, err := c.Compose(k, "sample@example.com", sample); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Compose implements ports.MailComposer.
func (c *Composer) Compose(kind ports.MailKind, to string, data ports.MailData) (ports.Mail, error) {
	txt, ok := c.text[kind]
	if !ok {
		return ports.Mail{}, fmt.Errorf("mail composer: unknown mail kind %q", kind)
	}
	d := templateData{
		Product:   c.product,
		Username:  data.Username,
		Link:      data.Link,
		NewEmail:  data.NewEmail,
		ExpiresIn: humanDuration(data.ExpiresIn),
		OrgName:   data.OrgName,
		Role:      data.Role,
		InvitedBy: data.InvitedBy,
	}
	var buf bytes.Buffer
	if err := txt.ExecuteTemplate(&buf, "subject", d); err != nil {
		return ports.Mail{}, fmt.Errorf("mail composer: render %s subject: %w", kind, err)
	}
	// A subject is one header line whatever the data holds.
	d.Subject = strings.Join(strings.Fields(buf.String()), " ")
	buf.Reset()
	if err := txt.ExecuteTemplate(&buf, string(kind)+".txt", d); err != nil {
		return ports.Mail{}, fmt.Errorf("mail composer: render %s text: %w", kind, err)
	}
	text := strings.TrimSpace(buf.String()) + "\n"
	buf.Reset()
	if err := c.html[kind].ExecuteTemplate(&buf, string(kind)+".html", d); err != nil {
		return ports.Mail{}, fmt.Errorf("mail composer: render %s HTML: %w", kind, err)
	}
	html := strings.TrimSpace(buf.String()) + "\n"
	return ports.Mail{To: to, Subject: d.Subject, Text: text, HTML: html}, nil
}

// humanDuration writes d the way a message states how long a link works:
// "1 hour", "24 hours", "30 minutes", "7 days". It rounds down to the
// minute, so a message never promises more time than the link has; zero or
// less gives "", and the templates then leave the sentence out.
func humanDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Minute:
		return "less than a minute"
	}
	minutes := int64(d / time.Minute)
	switch {
	case minutes >= 48*60 && minutes%(24*60) == 0:
		return plural(minutes/(24*60), "day")
	case minutes%60 == 0:
		return plural(minutes/60, "hour")
	default:
		return plural(minutes, "minute")
	}
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
