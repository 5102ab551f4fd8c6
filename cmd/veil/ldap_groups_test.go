package main

import (
	"strings"
	"testing"

	"github.com/veil-id/veil/ldap/ldaptest"
)

// TestLDAPGroupsDecideForwardAuth: with store.driver = "ldap", groups come
// from the directory's memberOf: a group rule lets its member in with
// Remote-Groups and answers 403 to a member of another group; the group
// commands list them and refuse changes, and veil rules test explains both.
func TestLDAPGroupsDecideForwardAuth(t *testing.T) {
	srv := ldaptest.Start(t)
	base := srv.NewPeople(t)
	groups := "ou=groups," + base
	srv.LDAPAdd(t, "dn: "+groups+"\nobjectClass: organizationalUnit\nou: groups\n\n"+
		"dn: cn=admins,"+groups+"\nobjectClass: groupOfNames\ncn: admins\nmember: uid=alice,"+base+"\n\n"+
		"dn: cn=ops,"+groups+"\nobjectClass: groupOfNames\ncn: ops\nmember: uid=alice,"+base+"\nmember: uid=carol,"+base+"\n")
	dir := t.TempDir()
	env := ldapEnv(srv, base, map[string]string{"VEIL_CONFIG": writeRules(t),
		"VEIL_LDAP_GROUP_ATTRIBUTE": "memberOf", "VEIL_SERVER_TRUSTED_PROXIES": "127.0.0.1"})
	v := MustRunMain(t, env, dir)
	signIn := func(email string) string {
		res, body := httpDo(t, "POST", v.url+"/api/login", "application/json", loginJSONBody(email, ldaptest.Password), "")
		if res.StatusCode != 200 {
			t.Fatalf("sign-in %s: %d %s", email, res.StatusCode, body)
		}
		return strings.Split(res.Header.Get("Set-Cookie"), ";")[0]
	}
	check := func(cookie string) (int, string) {
		res := forwardAuthAt(t, v, cookie, "https://admin.example.com/")
		return res.StatusCode, res.Header.Get("Remote-Groups")
	}
	if code, g := check(signIn("alice@example.com")); code != 200 || g != "admins,ops" {
		t.Errorf("alice on the admins app: %d, Remote-Groups %q; want 200, admins,ops", code, g)
	}
	if code, _ := check(signIn("carol@example.com")); code != 403 {
		t.Errorf("carol (ops) on the admins app: %d, want 403", code)
	}
	run := func(args ...string) (int, string) {
		code, out, errOut := runMain(t, env, "", append(args, "--data-dir", dir)...)
		return code, out + errOut
	}
	if code, out := run("group", "list"); code != 0 || !strings.Contains(out, "admins  1") || !strings.Contains(out, "ops     2") {
		t.Errorf("group list: exit %d\n%s", code, out)
	}
	if code, out := run("user", "group", "add", "carol@example.com", "admins"); code != 1 || !strings.Contains(out, "managed in the directory") {
		t.Errorf("user group add on a directory: exit %d\n%s", code, out)
	}
	if code, out := run("rules", "test", "https://admin.example.com/", "carol@example.com"); code != 0 || !strings.Contains(out, "groups: ops: 403") {
		t.Errorf("rules test carol: exit %d\n%s", code, out)
	}
}
