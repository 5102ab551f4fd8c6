package veil_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/veil-id/veil"

// TestDependencies keeps the arrows pointing inward: the domain must not
// depend, even through a library, on the transport, the database layer
// or any adapter of its own, and outside the standard library it uses
// only the libraries named here.
func TestDependencies(t *testing.T) {
	forbidden := []string{"net/http", "database/sql", "html/template", "os/exec"}
	libraries := []string{"golang.org/x/text/", "golang.org/x/net/idna", "github.com/pquerna/otp", "github.com/boombuler/barcode"}
	deps := goList(t, "-deps", "-f", "{{.ImportPath}} {{.Standard}}", ".")
	if len(deps) < 10 {
		t.Fatalf("go list -deps found %d packages; is the test looking at the right package?", len(deps))
	}
	for _, line := range deps {
		imp, standard, _ := strings.Cut(line, " ")
		for _, f := range forbidden {
			if imp == f || strings.HasPrefix(imp, f+"/") {
				t.Errorf("package veil depends on %s; the domain must not depend on transport or storage", imp)
			}
		}
		switch {
		case standard == "true" || imp == module:
		case strings.HasPrefix(imp, module+"/"):
			t.Errorf("package veil depends on its adapter %s; adapters import the domain, never the reverse", imp)
		case !slices.ContainsFunc(libraries, func(l string) bool { return strings.HasPrefix(imp, l) }):
			t.Errorf("package veil depends on %s, which is not among the libraries the domain may use", imp)
		}
	}
}

// ownImports is every package of the module and the packages of the module
// it may import (tests aside). Adapters import the root and what they build
// on; only cmd/veil wires them together. A package or an import not listed
// here, or listed and gone, fails TestAdapterDependencies: change the table
// in the same commit, where a reviewer sees the new arrow.
var ownImports = map[string][]string{
	"":                      nil,
	"brand":                 nil,
	"cmd/veil":              {"", "brand", "devmail", "ldap", "mail", "metrics", "oidc", "passkey", "password", "postgres", "probe", "redis", "smtp", "sqlite", "sqlstore", "throttle", "web"},
	"devmail":               {""},
	"ldap":                  {""},
	"ldap/ldaptest":         {"ldap", "veiltest"},
	"locale":                nil,
	"mail":                  {"", "brand", "locale"},
	"metrics":               {""},
	"oidc":                  {""},
	"oidc/oidctest":         {"", "oidc", "password", "sqlstore", "throttle", "web"},
	"passkey":               {""},
	"password":              {""},
	"postgres":              {"sqlstore"},
	"postgres/postgrestest": {"veiltest"},
	"probe":                 nil,
	"probe/fakeidp":         nil,
	"probe/leaky":           nil,
	"probe/leaky/leakyd":    {"probe/leaky"},
	"redis":                 {""},
	"smtp":                  {""},
	"smtp/smtptest":         nil,
	"sqlite":                {"sqlstore"},
	"sqlite/sqlitetest":     {"sqlite", "sqlstore"},
	// sqlstore keeps the OpenID Provider's state too: the root declares
	// it (veil.OIDCStore), so the store does not import the provider.
	"sqlstore":            {""},
	"throttle":            {""},
	"veiltest":            {""},
	"veiltest/faultproxy": nil,
	"web":                 {"", "brand", "locale"},
}

// TestAdapterDependencies checks every package's imports of the module
// against ownImports.
func TestAdapterDependencies(t *testing.T) {
	seen := map[string]bool{}
	for _, line := range goList(t, "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "./...") {
		fields := strings.Fields(line)
		pkg := short(fields[0])
		seen[pkg] = true
		want, ok := ownImports[pkg]
		if !ok {
			t.Errorf("package %q is not in ownImports; add it with the packages of the module it imports", pkg)
			continue
		}
		var got []string
		for _, imp := range fields[1:] {
			if imp == module || strings.HasPrefix(imp, module+"/") {
				got = append(got, short(imp))
			}
		}
		slices.Sort(got)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("package %q imports %q of the module, ownImports says %q", pkg, got, want)
		}
	}
	for pkg := range ownImports {
		if !seen[pkg] {
			t.Errorf("ownImports lists %q, which go list does not find", pkg)
		}
	}
}

// short names a package of the module by its path inside it, "" for the
// root.
func short(importPath string) string {
	return strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
}

// goList runs go list with args in the module's root and returns its lines.
func goList(tb testing.TB, args ...string) []string {
	tb.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			tb.Fatalf("go list %v: %v\n%s", args, err, ee.Stderr)
		}
		tb.Fatalf("go list %v: %v", args, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}
