package main

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil/probe/fakeidp"
	"github.com/veil-id/veil/probe/leaky"
)

// TestProbeShapes runs veil probe's presets against fakes with the shapes
// real servers have — a sign-up that says "exists already", bodies that
// change on every request with a field only existing accounts get, a
// random sleep instead of the hash for unknown identifiers (Kratos'
// mitigation), a rate limit, and servers that leak nothing — and checks
// each verdict by its exit code: 0 no leak, 1 leak, 2 target error, 3
// inconclusive.
func TestProbeShapes(t *testing.T) {
	exists := strings.Split(probeExists, ",")
	closed := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	tests := []struct {
		name, preset string
		handler      http.Handler // nil: nothing listens
		path         string
		n            string
		alpha        string
		wantCode     int
		wantLeaking  string // a channel that must leak
		wantStderr   string
	}{
		{"first-contact sign-up (kratos-registration)", "kratos-registration",
			fakeidp.Kratos(fakeidp.KratosConfig{Exists: exists}), "", "40", "1e-6", 1, "status", "sign-up creates accounts: 44 addresses new"},
		{"volatile bodies with remainingAttempts", "login",
			leaky.Handler(leaky.Config{Leak: leaky.Field, Volatile: true, Exists: exists}), "", "40", "1e-6", 1, "json structure", "sign-in counts failures"},
		{"random sleep for unknown identifiers (kratos-login)", "kratos-login",
			fakeidp.Kratos(fakeidp.KratosConfig{Exists: exists, Hash: 3 * time.Millisecond, RandomDelay: true}), "", "150", "1e-3", 1, "time to ", "sign-in counts failures"},
		{"rate limit (gotrue-login)", "gotrue-login",
			fakeidp.GoTrue(fakeidp.GoTrueConfig{Exists: exists, RateLimit: 30}), "", "40", "1e-6", 3, "", ""},
		{"no leak (keycloak-login)", "keycloak-login",
			fakeidp.Keycloak(fakeidp.KeycloakConfig{Exists: exists, Hash: time.Millisecond}), "/realms/master", "40", "1e-6", 0, "", "/protocol/openid-connect/auth?client_id=account-console"},
		{"no leak (authelia-login)", "authelia-login",
			fakeidp.Authelia(fakeidp.AutheliaConfig{Exists: exists, Hash: time.Millisecond, Delay: 2 * time.Millisecond, MaxRetries: 3}), "", "40", "1e-6", 0, "", ""},
		{"nothing listening (kratos-recovery)", "kratos-recovery", nil, "", "40", "1e-6", 2, "", "warm-up request failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := closed
			if tt.handler != nil {
				srv := httptest.NewServer(tt.handler)
				t.Cleanup(srv.Close)
				base = srv.URL
			}
			args := []string{"probe", "--preset", tt.preset, "--base-url", base + tt.path, "--exists", probeExists,
				"--n", tt.n, "--warmup", "4", "--rate", "0", "--quiet", "--alpha", tt.alpha, "--format", "json"}
			code, stdout, stderr := runMain(t, testEnv(nil), "", args...)
			if code != tt.wantCode {
				t.Fatalf("veil %s = exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, tt.wantCode, stdout, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
			if tt.wantCode == 2 {
				if !strings.Contains(stderr, "veil: probe: ") || !strings.Contains(stderr, "step 1: connection refused") {
					t.Errorf("stderr = %q, want the step that could not connect", stderr)
				}
				return
			}
			rep := mustParseProbeJSON(t, stdout)
			var leaking []string
			for _, c := range rep.Targets[0].Channels {
				if c.Leak {
					leaking = append(leaking, c.Name)
				}
			}
			found := slices.ContainsFunc(leaking, func(c string) bool { return strings.HasPrefix(c, tt.wantLeaking) })
			if (tt.wantCode == 1) != found || tt.wantCode != 1 && len(leaking) > 0 {
				t.Errorf("leaking channels %q, want %q among them (exit %d)\n%s", leaking, tt.wantLeaking, tt.wantCode, stdout)
			}
		})
	}
}
