package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
)

const importUsage = "usage: ums import flask --from DSN [--dry-run] | ums import users --from FILE.jsonl [--dry-run]"

func importCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "flask" && args[0] != "users") {
		return errors.New(importUsage)
	}
	fs := flag.NewFlagSet("import "+args[0], flag.ContinueOnError)
	fs.SetOutput(stdout)
	from := fs.String("from", "", "the source: a database URL (flask) or a JSONL file (users)")
	dry := fs.Bool("dry-run", false, "check everything and report, but write nothing")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *from == "" || fs.NArg() > 0 {
		return errors.New(importUsage)
	}
	cfg, log, err := configAndLogger()
	if err != nil {
		return err
	}
	log = log.WithOptions(zap.IncreaseLevel(zap.WarnLevel))
	var rep application.ImportReport
	if args[0] == "flask" {
		rep, err = bootstrap.ImportFlask(ctx, cfg, log, *from, *dry)
	} else {
		var recs []application.UserRecord
		if recs, err = readUserRecords(*from); err != nil {
			return err
		}
		rep, err = bootstrap.ImportUsers(ctx, cfg, log, recs, *dry)
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", args[0], err)
	}
	printReport(stdout, rep)
	return nil
}

// userLine is one line of the users JSONL file.
type userLine struct {
	Email              string     `json:"email"`
	Username           string     `json:"username"`
	PasswordHash       string     `json:"password_hash"`
	FirstName          string     `json:"first_name"`
	LastName           string     `json:"last_name"`
	IsActive           *bool      `json:"is_active"`
	IsSystemAdmin      bool       `json:"is_system_admin"`
	EmailVerified      bool       `json:"email_verified"`
	MustChangePassword bool       `json:"must_change_password"`
	PasswordChangedAt  *time.Time `json:"password_changed_at"`
	CreatedAt          *time.Time `json:"created_at"`
}

// readUserRecords parses the JSONL file strictly: an unknown field or a
// malformed line stops the import before anything is written.
func readUserRecords(path string) ([]application.UserRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []application.UserRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		var u userLine
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&u); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n, err)
		}
		recs = append(recs, application.UserRecord{Line: n, Email: u.Email, Username: u.Username,
			FirstName: u.FirstName, LastName: u.LastName, PasswordHash: u.PasswordHash, IsActive: u.IsActive,
			IsSystemAdmin: u.IsSystemAdmin, EmailVerified: u.EmailVerified, MustChangePassword: u.MustChangePassword,
			PasswordChangedAt: u.PasswordChangedAt, CreatedAt: u.CreatedAt})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return recs, nil
}

func printReport(w io.Writer, rep application.ImportReport) {
	if rep.DryRun {
		fmt.Fprintln(w, "dry run: nothing was written")
	}
	fmt.Fprintf(w, "%-18s %8s %8s\n", "kind", "imported", "existing")
	for _, k := range application.ImportKinds {
		if rep.Imported[k] == 0 && rep.Existing[k] == 0 && !hasKind(rep, k) {
			continue
		}
		fmt.Fprintf(w, "%-18s %8d %8d\n", k, rep.Imported[k], rep.Existing[k])
	}
	if len(rep.Renamed) > 0 {
		fmt.Fprintf(w, "renamed (%d):\n", len(rep.Renamed))
		for _, r := range rep.Renamed {
			note := ""
			if r.Note != "" {
				note = " (" + r.Note + ")"
			}
			fmt.Fprintf(w, "  %s %s: %q -> %q%s\n", r.Kind, r.OldID, r.From, r.To, note)
		}
	}
	if len(rep.Skipped) > 0 {
		fmt.Fprintf(w, "skipped (%d):\n", len(rep.Skipped))
		for _, s := range rep.Skipped {
			fmt.Fprintf(w, "  %s %s: %s\n", s.Kind, s.OldID, s.Reason)
		}
	}
	if len(rep.Notes) > 0 {
		fmt.Fprintln(w, "notes:")
		for _, n := range rep.Notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	fmt.Fprintf(w, "total imported: %d\n", rep.Total())
}

func hasKind(rep application.ImportReport, kind string) bool {
	for _, s := range rep.Skipped {
		if s.Kind == kind {
			return true
		}
	}
	return false
}
