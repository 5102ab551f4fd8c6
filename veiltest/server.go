// Package veiltest holds the conformance suites that every implementation
// of veil's interfaces must pass, and the helpers tests use to reach real
// servers.
//
// It imports only package veil and the standard library, so that any
// adapter's tests can use it without importing another adapter. It is for
// tests only: no program may import it, and no suite may skip a check for
// one implementation's sake; an implementation that cannot pass a check
// has a bug, or the interface's contract needs to change.
package veiltest

import (
	"fmt"
	"os"
	"strconv"
	"testing"
)

// RequireServer returns the address of a real server for tests, read from
// the environment variable envVar. When the variable is unset or empty the
// test is skipped with a message naming it, except in CI (CI set to true),
// where it fails: CI must run every test, never quietly skip one. what says
// which server it is, for the message ("PostgreSQL").
func RequireServer(tb testing.TB, envVar, what string) string {
	tb.Helper()
	if v := os.Getenv(envVar); v != "" {
		return v
	}
	Missing(tb, fmt.Sprintf("this test needs %s; set %s to run it", what, envVar))
	return ""
}

// Missing ends tb for want of something it needs (a server, a program),
// which why describes: it skips tb with why, except in CI (CI set to
// true), where it fails it: CI must run every test, never quietly skip
// one. Every "skip locally, fail in CI" goes through here.
func Missing(tb testing.TB, why string) {
	tb.Helper()
	if inCI() {
		tb.Fatalf("%s; and CI=%s: CI must run this test, not skip it", why, os.Getenv("CI"))
		return
	}
	tb.Skipf("skipping: %s", why)
}

// inCI reports whether the CI variable says true ("true", "1", ...).
func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// PostgresDSN returns the URL of the PostgreSQL database for tests, from
// VEIL_TEST_POSTGRES (for example
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable), under the rule
// of RequireServer. Tests must not touch what they did not create there:
// each should work in a schema of its own.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	return RequireServer(tb, "VEIL_TEST_POSTGRES", "PostgreSQL")
}
