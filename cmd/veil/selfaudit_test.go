package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/veil-id/veil/probe"
)

// TestSelfAudit runs veil probe against veil's own sign-in, sign-up and
// recovery on SQLite, and fails on any leak. It is sized for CI (well under
// two minutes on two cores); the closing numbers come from longer runs of
// `veil probe` at n=2000.
func TestSelfAudit(t *testing.T) {
	if testing.Short() {
		t.Skip("the self-audit takes tens of seconds; skipped with -short")
	}
	dir := t.TempDir()
	env := testEnv(map[string]string{"VEIL_LOGIN_FLOOR": "40ms"})
	exists := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	for _, email := range exists {
		if code, out, errOut := runMain(t, env, "correct horse battery staple\n", "user", "add", "--data-dir", dir, email); code != 0 {
			t.Fatalf("user add %s: %s%s", email, out, errOut)
		}
	}
	if code, _, errOut := runMain(t, env, "", "user", "disable", "--data-dir", dir, "carol@example.com"); code != 0 {
		t.Fatal(errOut)
	}
	v := MustRunMain(t, env, dir)

	var plan probe.Plan
	for _, preset := range []string{"login", "signup", "recover"} {
		target, err := probe.PresetTarget(preset, v.url)
		if err != nil {
			t.Fatal(err)
		}
		target.Exists = exists
		target.Missing = probe.MissingFor(exists)
		plan.Probes = append(plan.Probes, probe.Probe{Target: target, Options: probe.Options{
			N: 150, Warmup: 20, Concurrency: 4, Timeout: 10 * time.Second, Seed: uint64(time.Now().UnixNano()),
		}})
	}
	plan.Alpha = probe.DefaultAlpha
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := probe.Run(ctx, plan)
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	t.Logf("self-audit:\n%s", text.String())
	if rep.Leak {
		t.Errorf("veil probe found a leak in veil itself:\n%s", text.String())
	}
}
