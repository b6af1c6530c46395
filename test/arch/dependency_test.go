// Package arch checks the dependency rule of ARCHITECTURE.md with
// `go list`, so the layering holds by test rather than by goodwill.
package arch

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/ums-project/ums"

type pkg struct {
	path    string
	imports []string // direct imports
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-f",
		`{{.ImportPath}}|{{join .Imports " "}}`, module+"/...").CombinedOutput()
	require.NoError(t, err, string(out))
	var pkgs []pkg
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, imports, _ := strings.Cut(line, "|")
		pkgs = append(pkgs, pkg{path: path, imports: strings.Fields(imports)})
	}
	return pkgs
}

func nonStandardDeps(t *testing.T, pattern string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f",
		`{{if not .Standard}}{{.ImportPath}}{{end}}`, pattern).CombinedOutput()
	require.NoError(t, err, string(out))
	return strings.Fields(string(out))
}

func layer(path string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
	switch {
	case strings.HasPrefix(rel, "adapters/"):
		parts := strings.SplitN(rel, "/", 3)
		return parts[0] + "/" + parts[1]
	default:
		return strings.SplitN(rel, "/", 2)[0]
	}
}

// TestCoreImportsNoFrameworks: domain, ports and application see only the
// standard library, uuid and each other, never Echo, Bun, zap, jwx or fx.
func TestCoreImportsNoFrameworks(t *testing.T) {
	allowed := map[string][]string{
		"domain":      {"github.com/google/uuid", module + "/domain"},
		"ports":       {"github.com/google/uuid", module + "/domain", module + "/ports"},
		"application": {"github.com/google/uuid", module + "/domain", module + "/ports", module + "/application"},
	}
	for layerName, ok := range allowed {
		for _, dep := range nonStandardDeps(t, module+"/"+layerName) {
			permitted := false
			for _, a := range ok {
				if dep == a {
					permitted = true
				}
			}
			if !permitted {
				t.Errorf("%s depends on %s; the core may use only the standard library, uuid and inner layers", layerName, dep)
			}
		}
	}
}

// drivingAdapters are the adapters that call the application (ARCHITECTURE.md).
var drivingAdapters = map[string]bool{"adapters/http": true, "adapters/web": true, "adapters/oidc": true,
	"adapters/legacyapi": true}

// TestAdaptersDependInward: adapters import ports and domain, never one
// another, never bootstrap; only the driving adapters call the application.
func TestAdaptersDependInward(t *testing.T) {
	for _, p := range listPackages(t) {
		from := layer(p.path)
		if strings.HasPrefix(p.path, module+"/test") || strings.HasPrefix(p.path, module+"/cmd") {
			continue
		}
		for _, imp := range p.imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			to := layer(imp)
			if to == from {
				continue
			}
			switch {
			case to == "bootstrap" || to == "cmd":
				t.Errorf("%s imports %s: only cmd may use bootstrap", p.path, imp)
			case strings.HasPrefix(from, "adapters/") && strings.HasPrefix(to, "adapters/"):
				t.Errorf("%s imports %s: adapters never import each other", p.path, imp)
			case strings.HasPrefix(from, "adapters/") && to == "application" && !drivingAdapters[from]:
				t.Errorf("%s imports %s: only the driving adapters call the application", p.path, imp)
			case from == "domain" || (from == "ports" && to != "domain") ||
				(from == "application" && to != "domain" && to != "ports"):
				t.Errorf("%s imports %s: breaks domain ← ports ← application", p.path, imp)
			}
		}
	}
}

// TestOnlyBootstrapUsesFx keeps the dependency-injection framework at the
// composition root.
func TestOnlyBootstrapUsesFx(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, imp := range p.imports {
			if strings.HasPrefix(imp, "go.uber.org/fx") && layer(p.path) != "bootstrap" {
				t.Errorf("%s imports %s: fx belongs in bootstrap only", p.path, imp)
			}
		}
	}
}
