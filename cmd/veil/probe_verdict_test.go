package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/veil-id/veil/probe/leaky"
)

// TestProbeFirstContactSignUp shows --preset signup find the leak of a
// sign-up that answers a new address 200 and a registered one 400 "exists
// already" (Ory Kratos): exit 1, the status leaking, and the report saying
// how many accounts the run may have created — with --warmup 0 meaning no
// warm-up at all.
func TestProbeFirstContactSignUp(t *testing.T) {
	for _, warmup := range []string{"0", "4"} {
		srv := mustServeLeakyConfig(t, leaky.Config{Leak: leaky.None, FirstContact: true})
		args := []string{"probe", "--preset", "signup", "--base-url", srv.url, "--exists", probeExists,
			"--n", "40", "--warmup", warmup, "--rate", "0", "--quiet", "--alpha", "1e-6"}
		code, stdout, stderr := runMain(t, testEnv(nil), "", args...)
		if code != 1 || !strings.Contains(stdout, "\n  LEAK: ") || !strings.Contains(stdout, "status") {
			t.Fatalf("veil %s = exit %d, want 1 and a status leak\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
		}
		want := map[string]string{"0": "up to 40 accounts created", "4": "up to 44 accounts created"}[warmup]
		if !strings.Contains(stdout, want) {
			t.Errorf("warm-up %s: report does not say %q:\n%s", warmup, want, stdout)
		}
		if n, want := srv.served.Load(), int64(80); warmup == "0" && n != want {
			t.Errorf("--warmup 0: the target served %d requests, want %d (no warm-up)", n, want)
		}
	}
}

// TestProbeInconclusive shows a target that throttles after a few requests
// reported inconclusive with exit 3 in every format, with what would make
// the run conclusive — not "no leak found", and not the status "leak" the
// 429s would make if one class got more of them.
func TestProbeInconclusive(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		srv := mustServeLeakyConfig(t, leaky.Config{Leak: leaky.None, ThrottleAfter: 10})
		args := fastProbe(srv.url+"/api/login", "--format", format)
		code, stdout, stderr := runMain(t, testEnv(nil), "", args...)
		if code != 3 {
			t.Fatalf("veil %s = exit %d, want 3\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
		}
		switch format {
		case "text":
			for _, want := range []string{"INCONCLUSIVE: ", "throttled", "allow-lists", "lenient throttle", "\nverdict: inconclusive\n"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("text report does not contain %q:\n%s", want, stdout)
				}
			}
		case "json":
			var rep struct {
				Leak, Inconclusive bool
				Targets            []struct {
					Inconclusive string
					Remedies     []string
				}
			}
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil || len(rep.Targets) != 1 {
				t.Fatalf("JSON report: %v\n%s", err, stdout)
			}
			if r := rep.Targets[0]; rep.Leak || !rep.Inconclusive || !strings.Contains(r.Inconclusive, "throttled") || len(r.Remedies) == 0 {
				t.Errorf("JSON report: leak %v, inconclusive %v, target %+v; want inconclusive with remedies", rep.Leak, rep.Inconclusive, r)
			}
		}
	}
}
