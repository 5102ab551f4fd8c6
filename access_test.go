package veil_test

import (
	"strings"
	"testing"

	"github.com/veil-id/veil"
)

func TestParseAccessTarget(t *testing.T) {
	cases := []struct {
		raw        string
		host, path string
		known      bool
	}{
		{"https://App.Example.com./a/b?x=1#f", "app.example.com", "/a/b", true},
		{"https://app.example.com:8443/", "app.example.com", "/", true},
		{"https://app.example.com", "app.example.com", "/", true},
		{"https://a.example.com/public/../admin", "a.example.com", "/admin", true},
		{"https://a.example.com/public/%2e%2e/admin", "a.example.com", "/admin", true},
		{"https://a.example.com/public%2F..%2Fadmin", "a.example.com", "/admin", true},
		{`https://a.example.com/public\..\admin`, "a.example.com", "/admin", true},
		{"https://a.example.com//admin//x/", "a.example.com", "/admin/x/", true},
		{"https://a.example.com/%zz", "", "", false},
		{"/relative/only", "", "", false},
		{"", "", "", false},
		{"https://[::1]:8080/x", "::1", "/x", true},
	}
	for _, c := range cases {
		got := veil.ParseAccessTarget(c.raw)
		if got.Host != c.host || got.Path != c.path || got.Known != c.known {
			t.Errorf("ParseAccessTarget(%q) = %+v, want {%s %s %v}", c.raw, got, c.host, c.path, c.known)
		}
	}
}

func TestNewAccessRulesRefuses(t *testing.T) {
	cases := []struct {
		rule veil.AccessRule
		want string
	}{
		{veil.AccessRule{Access: "allow"}, "access must be"},
		{veil.AccessRule{Access: veil.AccessGroup}, "at least one group"},
		{veil.AccessRule{Access: veil.AccessGroup, Groups: []string{"a,b"}}, "group \"a,b\""},
		{veil.AccessRule{Access: veil.AccessSignedIn, Groups: []string{"a"}}, "takes no groups"},
		{veil.AccessRule{Access: veil.AccessBypass, EmailHeader: true}, "no address"},
		{veil.AccessRule{Host: "https://a.com", Access: veil.AccessBypass}, "host"},
		{veil.AccessRule{Host: "a.com:80", Access: veil.AccessBypass}, "host"},
		{veil.AccessRule{Host: "*.*.a.com", Access: veil.AccessBypass}, "host"},
		{veil.AccessRule{Path: "admin", Access: veil.AccessBypass}, "path"},
		{veil.AccessRule{Path: "/a/../b", Access: veil.AccessBypass}, "path"},
		{veil.AccessRule{Path: "/a%2f", Access: veil.AccessBypass}, "path"},
		{veil.AccessRule{Path: "/a?x", Access: veil.AccessBypass}, "path"},
	}
	for _, c := range cases {
		_, err := veil.NewAccessRules([]veil.AccessRule{{Access: veil.AccessSignedIn}, c.rule})
		if err == nil || !strings.Contains(err.Error(), "rule 2: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewAccessRules(%+v) = %v, want rule 2 and %q", c.rule, err, c.want)
		}
	}
}

func TestAccessRulesDecide(t *testing.T) {
	rules, err := veil.NewAccessRules([]veil.AccessRule{
		{Host: "App.example.com", Path: "/static/", Access: veil.AccessBypass},
		{Host: "app.example.com", Path: "/admin", Access: veil.AccessGroup, Groups: []string{"Admins", "ops"}, EmailHeader: true},
		{Host: "*.example.com", Access: veil.AccessSignedIn},
		{Access: veil.AccessGroup, Groups: []string{"staff"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		url      string
		signedIn bool
		groups   []string
		verdict  string
		rule     int
	}{
		{"https://app.example.com/static/x.css", false, nil, veil.VerdictAllow, 0},
		{"https://app.example.com/static", false, nil, veil.VerdictAllow, 0}, // a trailing slash changes nothing
		{"https://app.example.com/staticx", false, nil, veil.VerdictSignIn, 2},
		{"https://app.example.com/admin", true, []string{"admins"}, veil.VerdictAllow, 1},
		{"https://app.example.com/admin/x", true, []string{"ops"}, veil.VerdictAllow, 1},
		{"https://app.example.com/admin/x", true, []string{"dev"}, veil.VerdictForbidden, 1},
		{"https://app.example.com/admin/x", false, []string{"admins"}, veil.VerdictSignIn, 1},
		{"https://app.example.com/administrator", true, nil, veil.VerdictAllow, 2},
		{"https://app.example.com/static/../admin", true, nil, veil.VerdictForbidden, 1},
		{"https://example.com/", true, nil, veil.VerdictForbidden, 3},
		{"https://deep.sub.example.com/", true, nil, veil.VerdictAllow, 2},
		{"https://other.org/", true, []string{"staff"}, veil.VerdictAllow, 3},
		{"", false, nil, veil.VerdictSignIn, -1},
		{"", true, []string{"staff", "admins"}, veil.VerdictForbidden, -1},
	}
	for _, c := range cases {
		d := rules.Decide(veil.ParseAccessTarget(c.url), c.signedIn, c.groups)
		if d.Verdict != c.verdict || d.Rule != c.rule {
			t.Errorf("Decide(%q, signed in %v, %v) = %s by rule %d (%s), want %s by rule %d", c.url, c.signedIn, c.groups, d.Verdict, d.Rule, d.Reason, c.verdict, c.rule)
		}
		if d.Identity != (d.Verdict == veil.VerdictAllow && d.Access != veil.AccessBypass) {
			t.Errorf("Decide(%q): Identity %v with verdict %s by %s", c.url, d.Identity, d.Verdict, d.Access)
		}
	}
	// Without rules, the URL does not matter: signed in enters.
	var none *veil.AccessRules
	if d := none.Decide(veil.AccessTarget{}, true, nil); d.Verdict != veil.VerdictAllow || d.Rule != -1 {
		t.Errorf("no rules, signed in = %+v, want allow by the default", d)
	}
}

func TestNormalizeGroupName(t *testing.T) {
	for in, want := range map[string]string{"Admins": "admins", "ops-2.x_y": "ops-2.x_y"} {
		if got, err := veil.NormalizeGroupName(in); got != want || err != nil {
			t.Errorf("NormalizeGroupName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-ops", ".a", "a b", "a,b", "é", strings.Repeat("a", 65), "a\x00"} {
		if _, err := veil.NormalizeGroupName(bad); veil.ErrorCode(err) != veil.EINVALID {
			t.Errorf("NormalizeGroupName(%q) = %v, want EINVALID", bad, err)
		}
	}
	if got := veil.GroupNames([]string{"b", "A", "a", "no good"}); strings.Join(got, ",") != "a,b" {
		t.Errorf("GroupNames = %v, want [a b]", got)
	}
}

// FuzzParseAccessTarget: whatever the proxy says, the target's path is
// absolute and clean (a rule sees what the upstream will), and a bypass
// rule on /public/ lets in only paths under it.
func FuzzParseAccessTarget(f *testing.F) {
	for _, s := range []string{"https://a.example.com/public/x", "https://a.example.com/public/../admin", "https://a.example.com/public%2f..%2fadmin", `http://a.example.com/public\..\x`, "https://a.example.com/%2e%2e/%2e/"} {
		f.Add(s)
	}
	rules, err := veil.NewAccessRules([]veil.AccessRule{{Path: "/public/", Access: veil.AccessBypass}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		tg := veil.ParseAccessTarget(raw)
		if !tg.Known {
			return
		}
		if !strings.HasPrefix(tg.Path, "/") || strings.Contains(tg.Path, "//") || strings.Contains(tg.Path, "/../") || strings.HasSuffix(tg.Path, "/..") || strings.Contains(tg.Path, `\`) {
			t.Fatalf("ParseAccessTarget(%q).Path = %q, not clean", raw, tg.Path)
		}
		if d := rules.Decide(tg, false, nil); d.Verdict == veil.VerdictAllow && !strings.HasPrefix(tg.Path, "/public/") && tg.Path != "/public" {
			t.Fatalf("%q (path %q) bypasses", raw, tg.Path)
		}
	})
}
