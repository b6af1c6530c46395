package application

import "fmt"

// Import audit actions. Imported audit_logs rows keep their own action,
// prefixed with ActionLegacyPrefix.
const (
	ActionImportFlask  = "import.flask"
	ActionImportUsers  = "import.users"
	ActionLegacyPrefix = "legacy."
)

// Kinds counted in an ImportReport.
const (
	ImportUsers         = "users"
	ImportOrganizations = "organizations"
	ImportMemberships   = "memberships"
	ImportPermissions   = "permissions"
	ImportRolePerms     = "role_permissions"
	ImportGrants        = "grants"
	ImportAuditEvents   = "audit_events"
)

// ImportKinds lists the report kinds in the order an import runs them.
var ImportKinds = []string{ImportUsers, ImportOrganizations, ImportPermissions, ImportMemberships,
	ImportRolePerms, ImportGrants, ImportAuditEvents}

// ImportSkip is a source row left out, and why.
type ImportSkip struct {
	Kind   string
	OldID  string
	Reason string
}

// ImportRename is a source value that UMS stores differently (a permission
// name or an organization slug that had to be normalised).
type ImportRename struct {
	Kind  string
	OldID string
	From  string
	To    string
	Note  string
}

// ImportReport is what an import did or, on a dry run, would have done.
type ImportReport struct {
	DryRun bool
	// Imported counts new rows by kind; Existing the source rows an
	// earlier run already imported.
	Imported map[string]int
	Existing map[string]int
	Skipped  []ImportSkip
	Renamed  []ImportRename
	// Notes are what else the operator must know (pending links that
	// died, second factors without recovery codes).
	Notes []string
}

// Total is the number of rows imported.
func (r ImportReport) Total() int {
	n := 0
	for _, c := range r.Imported {
		n += c
	}
	return n
}

func newImportReport(dryRun bool) ImportReport {
	return ImportReport{DryRun: dryRun, Imported: map[string]int{}, Existing: map[string]int{}}
}

func (r *ImportReport) skip(kind string, oldID any, format string, args ...any) {
	r.Skipped = append(r.Skipped, ImportSkip{Kind: kind, OldID: fmt.Sprint(oldID), Reason: fmt.Sprintf(format, args...)})
}

// counts is the report's numbers as audit details.
func (r ImportReport) counts() map[string]any {
	imported, existing := map[string]any{}, map[string]any{}
	for _, k := range ImportKinds {
		imported[k], existing[k] = r.Imported[k], r.Existing[k]
	}
	return map[string]any{"imported": imported, "existing": existing, "skipped": len(r.Skipped), "renamed": len(r.Renamed),
		"notes": len(r.Notes)}
}
