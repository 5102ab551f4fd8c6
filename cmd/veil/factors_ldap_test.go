package main

import (
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/ldap/ldaptest"
)

// TestLDAPSecondFactor sets up an authenticator app for a directory
// account: the factor is kept in veil's own database under the entry's
// account ID, asked for after the directory's password check, and reset
// by the operator's command.
func TestLDAPSecondFactor(t *testing.T) {
	srv := ldaptest.Start(t)
	base := srv.NewPeople(t)
	dir := t.TempDir()
	env := ldapEnv(srv, base, nil)
	v := MustRunMain(t, env, dir)
	login := func() (int, string, string) {
		res, body := httpDo(t, "POST", v.url+"/api/login", "application/json", loginJSONBody("alice@example.com", ldaptest.Password), "")
		return res.StatusCode, body, strings.Split(res.Header.Get("Set-Cookie"), ";")[0]
	}
	status, _, session := login()
	if status != 200 {
		t.Fatalf("sign-in: %d", status)
	}
	secret := enrolTOTP(t, v, session)
	status, body, pending := login()
	if status != 200 || !strings.Contains(body, "second_factor_required") || !strings.Contains(pending, "veil_pending=") {
		t.Fatalf("sign-in with a factor: %d %s (%s)", status, body, pending)
	}
	code, _ := veil.TOTPCode(secret, time.Now())
	res, body := httpDo(t, "POST", v.url+"/api/login/second-factor", "application/json", `{"code":"`+code+`"}`, pending)
	if res.StatusCode != 200 || !strings.Contains(body, `"email":"alice@example.com"`) {
		t.Fatalf("second factor: %d %s", res.StatusCode, body)
	}
	if code, out, errOut := runMain(t, env, "", "user", "reset-factors", "--data-dir", dir, "alice@example.com"); code != 0 || !strings.Contains(out, "second factors reset") {
		t.Fatalf("reset-factors: %d %s%s", code, out, errOut)
	}
	if status, body, _ := login(); status != 200 || strings.Contains(body, "second_factor_required") {
		t.Errorf("sign-in after reset-factors: %d %s, want a session", status, body)
	}
}
