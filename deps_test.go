package veil_test

import (
	"go/build"
	"strings"
	"testing"
)

// TestDependencies keeps the arrows pointing inward: the domain must not
// import the transport, the database layer or any adapter of its own.
func TestDependencies(t *testing.T) {
	pkg, err := build.Default.Import("github.com/veil-id/veil", ".", 0)
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{"net/http", "database/sql", "html/template", "os/exec"}
	for _, imp := range pkg.Imports {
		for _, f := range forbidden {
			if imp == f || strings.HasPrefix(imp, f+"/") {
				t.Errorf("package veil imports %s; the domain must not depend on transport or storage", imp)
			}
		}
		if strings.HasPrefix(imp, "github.com/veil-id/veil/") {
			t.Errorf("package veil imports its adapter %s; adapters import the domain, never the reverse", imp)
		}
	}
	if len(pkg.Imports) == 0 {
		t.Fatal("found no imports at all; is the test looking at the right package?")
	}
}
