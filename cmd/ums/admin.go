package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/domain"
)

func admin(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: ums admin create --email E --username U --password-stdin")
	}
	fs := flag.NewFlagSet("admin create", flag.ContinueOnError)
	fs.SetOutput(stdout)
	email := fs.String("email", "", "email address (required)")
	username := fs.String("username", "", "username (required)")
	first := fs.String("first-name", "", "first name")
	last := fs.String("last-name", "", "last name")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *email == "" || *username == "" || !*fromStdin {
		// A password flag would leak through the shell history and ps.
		return errors.New("--email, --username and --password-stdin are required")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")

	cfg, log, err := configAndLogger()
	if err != nil {
		return err
	}
	log = log.WithOptions(zap.IncreaseLevel(zap.WarnLevel))
	u, err := bootstrap.CreateAdmin(ctx, cfg, log, application.RegisterInput{
		Email: *email, Username: *username, Password: password, FirstName: *first, LastName: *last,
	})
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "created system administrator %s (%s) id=%s\n", u.Username(), u.Email(), u.ID())
	return nil
}

// describe spells out a validation error's fields for the terminal.
func describe(err error) error {
	var de *domain.Error
	if !errors.As(err, &de) || len(de.Fields) == 0 {
		return err
	}
	var b strings.Builder
	b.WriteString(de.Message)
	for _, f := range de.Fields {
		fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Message)
	}
	return errors.New(b.String())
}
