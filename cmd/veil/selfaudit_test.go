package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/veil-id/veil/probe"
)

// lenientThrottle keeps veil's throttle out of the way of tests that send
// many failures from one address to look at what is behind it (the
// password check, the directory, the outbox): no proof of work, blocks too
// short to notice. (The NIST cap keeps an identifier's
// block_after at 100 at most.) Tests of the throttle itself use its
// defaults.
var lenientThrottle = map[string]string{
	"VEIL_THROTTLE_IDENTIFIER_CHALLENGE_AFTER":      "0",
	"VEIL_THROTTLE_IDENTIFIER_BLOCK_AFTER":          "100",
	"VEIL_THROTTLE_IDENTIFIER_BLOCK_FOR":            "1ns",
	"VEIL_THROTTLE_IDENTIFIER_BLOCK_MAX":            "1ns",
	"VEIL_THROTTLE_ADDRESS_CHALLENGE_AFTER":         "0",
	"VEIL_THROTTLE_ADDRESS_BLOCK_AFTER":             "0",
	"VEIL_THROTTLE_GLOBAL_CHALLENGE_PER_MINUTE":     "0",
	"VEIL_THROTTLE_SIGNUP_EMAIL_CHALLENGE_AFTER":    "0",
	"VEIL_THROTTLE_SIGNUP_EMAIL_BLOCK_AFTER":        "0",
	"VEIL_THROTTLE_SIGNUP_ADDRESS_CHALLENGE_AFTER":  "0",
	"VEIL_THROTTLE_SIGNUP_ADDRESS_BLOCK_AFTER":      "0",
	"VEIL_THROTTLE_RECOVER_EMAIL_CHALLENGE_AFTER":   "0",
	"VEIL_THROTTLE_RECOVER_EMAIL_BLOCK_AFTER":       "0",
	"VEIL_THROTTLE_RECOVER_ADDRESS_CHALLENGE_AFTER": "0",
	"VEIL_THROTTLE_RECOVER_ADDRESS_BLOCK_AFTER":     "0",
}

// TestSelfAudit runs veil probe against veil's own sign-in, sign-up and
// recovery on SQLite, and fails on any leak. It is sized for CI (well under
// two minutes on two cores); the closing numbers come from longer runs of
// `veil probe` at n=2000. The throttle is lenient so that the probe
// measures the paths behind it; its own answers have pair tests.
func TestSelfAudit(t *testing.T) {
	url, exists := mustRunAuditedVeil(t)
	selfAudit(t, "SQLite", url, exists, 150, 2*time.Minute, "login", "signup", "recover", "authorize")
}

// auditPassword is the password of the accounts mustRunAuditedVeil makes.
const auditPassword = "correct horse battery staple"

// mustRunAuditedVeil starts veil on SQLite with a lenient throttle and
// three accounts, the last disabled, and returns its URL and their
// addresses. It skips with -short: a self-audit takes tens of seconds.
func mustRunAuditedVeil(t *testing.T) (string, []string) {
	t.Helper()
	if testing.Short() {
		t.Skip("the self-audit takes tens of seconds; skipped with -short")
	}
	dir := t.TempDir()
	// The default, automatic floor: with every hash current it pads only
	// the lookup (and holds routes without a hash to web.NoHashFloor), so
	// this audits what a deployment runs.
	vars := map[string]string{"VEIL_LOGIN_FLOOR": "auto"}
	for k, v := range lenientThrottle {
		vars[k] = v
	}
	env := testEnv(vars)
	exists := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	for _, email := range exists {
		if code, out, errOut := runMain(t, env, auditPassword+"\n", "user", "add", "--data-dir", dir, email); code != 0 {
			t.Fatalf("user add %s: %s%s", email, out, errOut)
		}
	}
	if code, _, errOut := runMain(t, env, "", "user", "disable", "--data-dir", dir, "carol@example.com"); code != 0 {
		t.Fatal(errOut)
	}
	// With the OpenID Provider on, so that its sign-in (the authorize
	// preset: /login with a return URL to an authorization) is audited too.
	addr := freeAddr(t)
	vars["VEIL_SERVER_PUBLIC_URL"], vars["VEIL_OIDC_ENABLED"] = "http://"+addr, "true"
	return mustRunMainOn(t, testEnv(vars), dir, addr).url, exists
}

// selfAudit probes sign-in, sign-up and recovery (or the presets given) of
// the veil at url with n requests per class, existing identifiers against
// ones that cannot exist, and fails tb on any leak.
func selfAudit(tb testing.TB, what, url string, exists []string, n int, timeout time.Duration, presets ...string) {
	tb.Helper()
	var plan probe.Plan
	if len(presets) == 0 {
		presets = []string{"login", "signup", "recover"}
	}
	for _, preset := range presets {
		target, err := probe.PresetTarget(preset, url)
		if err != nil {
			tb.Fatal(err)
		}
		target.Exists = exists
		target.Missing = probe.MissingFor(exists)
		// A password the rules accept, so that sign-ins reach the
		// password check (and its floor) instead of failing on syntax.
		target.Password = probe.RandomPassword()
		checkPresetAnswer(tb, target, presetStatus(tb, url, preset))
		plan.Probes = append(plan.Probes, auditProbe(target, n))
	}
	rep := runAuditPlan(tb, what, n, plan, timeout)
	// A sign-up measured twice on one address compares registered with
	// registered and cannot fail.
	if r := rep.Targets[1]; !r.FirstContact || r.Identifiers[1] != n {
		tb.Errorf("self-audit on %s: sign-up measured on %d missing addresses (first contact %v), want %d new ones", what, r.Identifiers[1], r.FirstContact, n)
	}
}

// presetStatus is the answer of the veil at url to a preset's request for
// an existing identifier: a failed sign-in; an accepted sign-up or
// recovery — or, where accounts are managed elsewhere (a directory) and
// the flow's page offers no form, the one refusal that says so.
func presetStatus(tb testing.TB, url, preset string) int {
	tb.Helper()
	if preset == "login" || preset == "authorize" {
		return http.StatusUnauthorized
	}
	res, err := http.Get(url + "/" + preset)
	if err != nil {
		tb.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Contains(page, []byte(`<form method="post" action="/`+preset+`"`)) {
		return http.StatusBadRequest
	}
	return http.StatusAccepted
}

// checkPresetAnswer sends one request of a preset and checks veil's answer
// to it: a preset that no longer matches the endpoint (a sign-up that
// still sends a password is a 400) measures only veil's refusal of bad
// input, and would pass the audit while auditing nothing.
func checkPresetAnswer(tb testing.TB, target *probe.Target, want int) {
	tb.Helper()
	id := target.Exists[0]
	req, err := http.NewRequestWithContext(tb.Context(), target.Method, target.URL.RenderURL(id, target.Password),
		bytes.NewReader(target.Body.RenderBody(target.ContentType, id, target.Password)))
	if err != nil {
		tb.Fatal(err)
	}
	for name, values := range target.Header {
		req.Header[name] = values
	}
	req.Header.Set("Content-Type", target.ContentType)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != want {
		tb.Fatalf("preset %s: %s answered %d %s, want %d: the preset does not match the endpoint", target.Preset, req.URL, res.StatusCode, body, want)
	}
}

// auditProbe measures target with n requests per class as the self-audit
// does.
func auditProbe(target *probe.Target, n int) probe.Probe {
	return probe.Probe{Target: target, Options: probe.Options{
		N: n, Warmup: 20, Concurrency: 4, Timeout: 10 * time.Second, Seed: uint64(time.Now().UnixNano()),
	}}
}

// runAuditPlan runs plan within timeout, logs its report and fails tb on
// a leak or an inconclusive verdict.
func runAuditPlan(tb testing.TB, what string, n int, plan probe.Plan, timeout time.Duration) *probe.Report {
	tb.Helper()
	plan.Alpha = probe.DefaultAlpha
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	rep, err := probe.Run(ctx, plan)
	if err != nil {
		tb.Fatalf("probe: %v", err)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	tb.Logf("self-audit on %s, n=%d per class:\n%s", what, n, text.String())
	if rep.Leak || rep.Inconclusive {
		tb.Errorf("veil probe found a leak in veil on %s, or could not tell (%s):\n%s", what, rep.Verdict(), text.String())
	}
	return rep
}
