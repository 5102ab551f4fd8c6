package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil/probe/fakeidp"
	"github.com/veil-id/veil/probe/leaky"
)

// presetCase is one preset run against a fake with one real shape.
type presetCase struct {
	name    string
	preset  string
	handler http.Handler
	path    string // base URL below the server's root (Keycloak's realm)
	n       int
	alpha   float64
	verdict string   // LEAK, no leak found or inconclusive
	leaking []string // channels that must leak; with timingOK, timing ones may too
	mayLeak []string // channels that may also leak (a content leak often shows in timing)
}

var presetCases = []presetCase{
	{name: "kratos login, random sleep for unknown identifiers", preset: "kratos-login",
		handler: fakeidp.Kratos(fakeidp.KratosConfig{Exists: testExists, Hash: 3 * time.Millisecond, RandomDelay: true}),
		n:       150, alpha: 1e-3, verdict: "LEAK", mayLeak: timingChannels},
	{name: "kratos registration, exists already", preset: "kratos-registration",
		handler: fakeidp.Kratos(fakeidp.KratosConfig{Exists: testExists, Hash: time.Millisecond}),
		n:       40, alpha: 1e-6, verdict: "LEAK", leaking: []string{"body", "json structure", "length", "status"}, mayLeak: timingChannels},
	{name: "kratos recovery, code created and mailed inline", preset: "kratos-recovery",
		handler: fakeidp.Kratos(fakeidp.KratosConfig{Exists: testExists, Courier: 3 * time.Millisecond}),
		n:       60, alpha: 1e-3, verdict: "LEAK", mayLeak: timingChannels},
	{name: "keycloak login, dummy hash for unknown users", preset: "keycloak-login",
		handler: fakeidp.Keycloak(fakeidp.KeycloakConfig{Exists: testExists, Hash: time.Millisecond}), path: "/realms/master",
		n: 60, alpha: 1e-4, verdict: "no leak found"},
	{name: "gotrue login, bcrypt only for existing accounts", preset: "gotrue-login",
		handler: fakeidp.GoTrue(fakeidp.GoTrueConfig{Exists: testExists, Hash: 3 * time.Millisecond}),
		n:       40, alpha: 1e-3, verdict: "LEAK", mayLeak: timingChannels},
	{name: "gotrue login behind its rate limit", preset: "gotrue-login",
		handler: fakeidp.GoTrue(fakeidp.GoTrueConfig{Exists: testExists, RateLimit: 30}),
		n:       40, alpha: 1e-3, verdict: "inconclusive"},
	{name: "gotrue recovery, mail sent inline", preset: "gotrue-recover",
		handler: fakeidp.GoTrue(fakeidp.GoTrueConfig{Exists: testExists, Mail: 3 * time.Millisecond}),
		n:       40, alpha: 1e-3, verdict: "LEAK", mayLeak: timingChannels},
	{name: "authelia login, failures delayed alike, regulation", preset: "authelia-login",
		handler: fakeidp.Authelia(fakeidp.AutheliaConfig{Exists: testExists, Hash: time.Millisecond, Delay: 3 * time.Millisecond, MaxRetries: 3}),
		n:       60, alpha: 1e-4, verdict: "no leak found"},
	{name: "volatile bodies, no leak", preset: "login",
		handler: leaky.Handler(leaky.Config{Leak: leaky.None, Volatile: true, Exists: testExists}),
		n:       40, alpha: 1e-6, verdict: "no leak found"},
	{name: "volatile bodies, remainingAttempts for existing accounts", preset: "login",
		handler: leaky.Handler(leaky.Config{Leak: leaky.Field, Volatile: true, Exists: testExists}),
		n:       40, alpha: 1e-6, verdict: "LEAK", leaking: []string{"json structure"}, mayLeak: []string{"length"}},
}

var timingChannels = []string{"time to first byte", "time to last byte"}

// TestPresetsOnFakes runs every third-party preset against a fake with
// the real server's shape and timing behaviour, and the volatile-body
// shapes against the leaky server: each gets its verdict, leaking exactly
// where the shape leaks.
func TestPresetsOnFakes(t *testing.T) {
	for _, tt := range presetCases {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			target, err := PresetTarget(tt.preset, srv.URL+tt.path)
			if err != nil {
				t.Fatal(err)
			}
			target.Exists, target.Missing, target.Password = testExists, MissingFor(testExists), RandomPassword()
			rep, err := Run(context.Background(), Plan{Alpha: tt.alpha, Probes: []Probe{{Target: target, Options: Options{N: tt.n, Warmup: 4}}}})
			if err != nil {
				t.Fatal(err)
			}
			r := rep.Targets[0]
			if testing.Verbose() {
				logResult(t, r)
			}
			got := r.LeakingChannels()
			must := slices.DeleteFunc(slices.Clone(got), func(c string) bool { return slices.Contains(tt.mayLeak, c) })
			want := slices.Clone(tt.leaking)
			slices.Sort(want)
			if rep.Verdict() != tt.verdict || !slices.Equal(must, want) {
				t.Errorf("%s: verdict %s, leaking %q; want %s, leaking %q (and maybe %q)", tt.preset, rep.Verdict(), got, tt.verdict, want, tt.mayLeak)
				logResult(t, r)
			}
			// The steps got the target past its checks: no answer is the
			// fake's refusal of a stale flow, a missing cookie or a bad body.
			if tt.verdict != "inconclusive" {
				for _, c := range r.Channels {
					if c.Name == "status" && c.Signatures > 2 || strings.Contains(c.Summary, "error: ") {
						t.Errorf("%s: channel %s: %s", tt.preset, c.Name, c.Summary)
					}
				}
			}
		})
	}
}
