package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

func TestThrottleConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "veil.toml")
	os.WriteFile(file, []byte("[throttle]\nmemory_limit = \"16MiB\"\n[throttle.identifier]\nblock_after = 30\nblock_for = \"2m\"\n"), 0o600)
	env := testEnv(map[string]string{
		"VEIL_THROTTLE_MEMORY_LIMIT":              "8MiB",
		"VEIL_THROTTLE_RECOVER_EMAIL_BLOCK_AFTER": "3",
		"VEIL_SERVER_TRUSTED_PROXIES":             "10.0.0.0/8, ::1",
	})
	cfg, err := (&configFlags{configFile: file}).load(env)
	if err != nil {
		t.Fatal(err)
	}
	tc := cfg.Throttle
	got := []any{tc.MemoryLimit, tc.Identifier.BlockAfter, tc.Identifier.BlockFor, tc.Identifier.ChallengeAfter, tc.RecoverEmail.BlockAfter, cfg.Server.TrustedProxies, tc.Store, tc.OnStoreError, tc.PowDifficulty}
	want := []any{ByteSize(8 << 20), 30, Duration(2 * time.Minute), 5, 3, []string{"10.0.0.0/8", "::1"}, "memory", "memory", 20}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("throttle configuration = %v, want %v", got, want)
	}
	p := tc.policy()
	if err := p.Validate(); err != nil || p.Actions[veil.ActionLogin].Subject.BlockAfter != 30 {
		t.Errorf("policy from configuration: %+v, %v", p.Actions[veil.ActionLogin], err)
	}
}

func TestThrottleConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"bad store", map[string]string{"VEIL_THROTTLE_STORE": "etcd"}, "throttle.store"},
		{"redis without url", map[string]string{"VEIL_THROTTLE_STORE": "redis"}, "throttle.redis_url"},
		{"bad fallback", map[string]string{"VEIL_THROTTLE_ON_STORE_ERROR": "open"}, "throttle.on_store_error"},
		{"bad size", map[string]string{"VEIL_THROTTLE_MEMORY_LIMIT": "lots"}, "VEIL_THROTTLE_MEMORY_LIMIT"},
		{"tiny memory", map[string]string{"VEIL_THROTTLE_MEMORY_LIMIT": "1KiB"}, "throttle.memory_limit"},
		{"over NIST's cap", map[string]string{"VEIL_THROTTLE_IDENTIFIER_BLOCK_AFTER": "101"}, "NIST"},
		{"bad difficulty", map[string]string{"VEIL_THROTTLE_POW_DIFFICULTY": "40"}, "pow_difficulty"},
		{"bad proxy", map[string]string{"VEIL_SERVER_TRUSTED_PROXIES": "proxy.example"}, "trusted proxy"},
	}
	for _, tt := range tests {
		code, _, errOut := runMain(t, testEnv(tt.env), "", "config", "print")
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want an error mentioning %q", tt.name, code, errOut, tt.want)
		}
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		text string
	}{
		{"32MiB", 32 << 20, "32MiB"},
		{"512 kib", 512 << 10, "512KiB"},
		{"1GB", 1e9, "1000000000"},
		{"1000", 1000, "1000"},
		{"2GiB", 2 << 30, "2GiB"},
	}
	for _, tt := range tests {
		var b ByteSize
		if err := b.UnmarshalText([]byte(tt.in)); err != nil || int64(b) != tt.want {
			t.Errorf("ByteSize(%q) = %d, %v; want %d", tt.in, b, err, tt.want)
			continue
		}
		if text, _ := b.MarshalText(); string(text) != tt.text {
			t.Errorf("ByteSize(%d).MarshalText() = %q, want %q", b, text, tt.text)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "1.5MiB", "99999999999GiB"} {
		var b ByteSize
		if err := b.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("ByteSize(%q) = %d, want an error", bad, b)
		}
	}
}

// TestRedisDown starts veil with a Redis that is not there: failing closed,
// every sign-in gets the same 503, known account or not; falling back, the
// throttle counts in memory and sign-in answers as usual.
func TestRedisDown(t *testing.T) {
	for _, mode := range []struct {
		onError    string
		wantStatus int
	}{{"closed", 503}, {"memory", 401}} {
		t.Run(mode.onError, func(t *testing.T) {
			dir := t.TempDir()
			env := testEnv(map[string]string{
				"VEIL_THROTTLE_STORE":          "redis",
				"VEIL_THROTTLE_REDIS_URL":      "redis://127.0.0.1:1/0",
				"VEIL_THROTTLE_REDIS_TIMEOUT":  "200ms",
				"VEIL_THROTTLE_ON_STORE_ERROR": mode.onError,
			})
			if code, out, errOut := runMain(t, env, "correct horse battery staple\n", "user", "add", "--data-dir", dir, "alice@example.com"); code != 0 {
				t.Fatalf("user add: exit %d\n%s%s", code, out, errOut)
			}
			v := MustRunMain(t, env, dir)
			var bodies []string
			for _, id := range []string{"alice@example.com", "nobody@example.com"} {
				res, body := httpDo(t, "POST", v.url+"/api/login", "application/json", `{"identifier":"`+id+`","password":"wrong password!"}`, "")
				if res.StatusCode != mode.wantStatus {
					t.Errorf("%s: %d %s, want %d", id, res.StatusCode, body, mode.wantStatus)
				}
				bodies = append(bodies, body)
			}
			if bodies[0] != bodies[1] {
				t.Errorf("answers differ:\n%s\n%s", bodies[0], bodies[1])
			}
		})
	}
}

// TestThrottleReset: a person blocked by someone else's guesses signs in
// again after an operator runs `veil throttle reset`, which reaches the
// running serve through its admin listener and is audited.
func TestThrottleReset(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(map[string]string{
		"VEIL_THROTTLE_IDENTIFIER_CHALLENGE_AFTER": "0",
		"VEIL_THROTTLE_IDENTIFIER_BLOCK_AFTER":     "2",
		"VEIL_THROTTLE_IDENTIFIER_BLOCK_FOR":       "1h",
		"VEIL_THROTTLE_IDENTIFIER_BLOCK_MAX":       "1h",
	})
	const pw = "correct horse battery staple"
	if code, out, errOut := runMain(t, env, pw+"\n", "user", "add", "--data-dir", dir, "alice@example.com"); code != 0 {
		t.Fatalf("user add: exit %d\n%s%s", code, out, errOut)
	}
	v := MustRunMain(t, env, dir)
	login := func(password string) int {
		t.Helper()
		res, _ := httpDo(t, "POST", v.url+"/api/login", "application/json", `{"identifier":"alice@example.com","password":"`+password+`"}`, "")
		return res.StatusCode
	}
	for range 2 {
		login("someone's guess")
	}
	if got := login(pw); got != 429 {
		t.Fatalf("after two failures: %d, want 429 (blocked)", got)
	}
	admin := strings.TrimPrefix(v.adminURL, "http://")
	code, out, errOut := runMain(t, env, "", "throttle", "reset", "--admin-listen", admin, " ALICE@example.com")
	if code != 0 || out != "reset:  ALICE@example.com\n" {
		t.Fatalf("throttle reset: exit %d, %q %q", code, out, errOut)
	}
	if got := login(pw); got != 200 {
		t.Errorf("after the reset: %d, want 200", got)
	}
	if ev := v.auditEvents(t, 2); len(ev) != 2 || ev[0].Kind != veil.EventLogin || ev[1].Kind != veil.EventThrottleReset {
		t.Errorf("newest audit events %+v: want the sign-in after the reset", ev)
	}

	for _, tt := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"nothing to reset", []string{"throttle", "reset", "--admin-listen", admin}, 2, "give an identifier, --address, or both"},
		{"no subcommand", []string{"throttle"}, 2, "usage: veil throttle reset"},
		{"bad identifier", []string{"throttle", "reset", "--admin-listen", admin, "not an address"}, 1, "400"},
		{"bad address", []string{"throttle", "reset", "--admin-listen", admin, "--address", "300.1.2.3"}, 1, "is not an IP address"},
		{"serve not running", []string{"throttle", "reset", "--admin-listen", "127.0.0.1:1", "alice@example.com"}, 1, "is veil serve running?"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runMain(t, env, "", tt.args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("veil %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tt.args, " "), code, errOut, tt.wantCode, tt.wantErr)
			}
		})
	}
	code, out, _ = runMain(t, env, "", "throttle", "reset", "--admin-listen", admin, "--address", "2001:db8::1:2:3:4")
	if code != 0 || out != "reset: 2001:db8::/64\n" {
		t.Errorf("reset of an IPv6 address: exit %d, %q; want its /64", code, out)
	}
}
