package probe

import (
	"strings"
	"testing"
)

const examplePlan = `
base_url = "http://127.0.0.1:8080"
exists = ["alice@example.com", "bob@example.com"]
n = 500
rate = 0
headers = ["X-Probe: yes"]

[[endpoint]]
preset = "login"

[[endpoint]]
preset = "recover"
n = 100
pairs = true

[[endpoint]]
name = "legacy form"
url = "http://127.0.0.1:8081/login"
content_type = "application/x-www-form-urlencoded"
body = "user={{identifier}}&pass={{password}}"
scrub = ['name="csrf" value="[^"]*"']
missing = ["nobody@example.com"]
`

func TestParsePlan(t *testing.T) {
	plan, err := ParsePlan(strings.NewReader(examplePlan))
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Probes) != 3 {
		t.Fatalf("ParsePlan: %d probes, want 3", len(plan.Probes))
	}
	login, recov, form := plan.Probes[0], plan.Probes[1], plan.Probes[2]
	if got := login.Target.URL.String(); got != "http://127.0.0.1:8080/api/login" {
		t.Errorf("login URL = %q", got)
	}
	if login.Options.N != 500 || login.Options.Rate != 0 || login.Options.Pairs {
		t.Errorf("login options = %+v, want n 500, rate 0, no pairs", login.Options)
	}
	if recov.Options.N != 100 || !recov.Options.Pairs || recov.Target.Body.Has(fieldPassword) {
		t.Errorf("recover = %+v %q", recov.Options, recov.Target.Body)
	}
	if len(login.Target.Missing) != 2 || login.Target.Missing[0] == login.Target.Exists[0] {
		t.Errorf("generated missing = %q", login.Target.Missing)
	}
	if form.Target.Name != "legacy form" || form.Target.Missing[0] != "nobody@example.com" || len(form.Target.Scrub) != 1 {
		t.Errorf("form target = %+v", form.Target)
	}
	if form.Target.Header.Get("X-Probe") != "yes" {
		t.Errorf("plan-wide header not applied: %v", form.Target.Header)
	}
}

func TestParsePlanErrors(t *testing.T) {
	for _, bad := range []string{
		``,
		`exists = ["a@x.com"]`,
		"exists = [\"a@x.com\"]\n[[endpoint]]\npreset = \"login\"\nbase_url = \"http://h\"\nn = 5",
		"exists = [\"a@x.com\"]\n[[endpoint]]\npreset = \"login\"\nbase_url = \"http://h\"\nmethdo = \"GET\"",
		"[[endpoint]]\npreset = \"login\"\nbase_url = \"http://h\"",
		"exists = [\"a@x.com\"]\n[[endpoint]]\npreset = \"nope\"\nbase_url = \"http://h\"",
		"exists = [\"a@x.com\"]\n[[endpoint]]\nurl = \"http://h/x\"\nbody = \"{{user}}\"",
	} {
		if _, err := ParsePlan(strings.NewReader(bad)); err == nil {
			t.Errorf("ParsePlan(%q) = nil error, want an error", bad)
		}
	}
}

// FuzzParsePlan: any input either fails cleanly or gives probes that
// validate.
func FuzzParsePlan(f *testing.F) {
	f.Add(examplePlan)
	f.Add("exists = [\"a\"]\n[[endpoint]]\nurl = \"http://h/{{identifier}}\"\nbody = \"\"")
	f.Fuzz(func(t *testing.T, src string) {
		plan, err := ParsePlan(strings.NewReader(src))
		if err != nil {
			return
		}
		for _, p := range plan.Probes {
			if err := p.Validate(); err != nil {
				t.Errorf("ParsePlan(%q) gave an invalid probe: %v", src, err)
			}
		}
	})
}

func TestMissingFor(t *testing.T) {
	got := MissingFor([]string{"a@example.com", "plainname"})
	if !strings.HasSuffix(got[0], "@example.com") || len(got[0]) != len("aaaaaaaa@example.com") || len(got[1]) != len("plainname") || strings.Contains(got[1], "@") {
		t.Errorf("MissingFor = %q", got)
	}
}

// TestPresetsMatchVeil: veil's sign-up and recovery take only the address
// (DESIGN.md, invariant 6), so their presets send no password; a sign-up
// preset with one would be refused by veil as an unknown field.
func TestPresetsMatchVeil(t *testing.T) {
	for name, wantPassword := range map[string]bool{"login": true, "signup": false, "recover": false} {
		target, err := PresetTarget(name, "https://veil.example")
		if err != nil {
			t.Fatal(err)
		}
		if got := target.Body.Has("password"); got != wantPassword {
			t.Errorf("preset %s sends a password: %v, want %v (body %s)", name, got, wantPassword, target.Body)
		}
		if !target.Body.Has("identifier") {
			t.Errorf("preset %s does not send the identifier: %s", name, target.Body)
		}
	}
}

// TestParsePlanFirstContact shows warmup = 0 kept as no warm-up, and
// first-contact measurement set by the signup preset, by first_contact and
// by {{fresh}} in a missing identifier, and by nothing else.
func TestParsePlanFirstContact(t *testing.T) {
	src := `
base_url = "http://127.0.0.1:8080"
exists = ["alice@example.com"]
warmup = 0

[[endpoint]]
preset = "signup"

[[endpoint]]
url = "http://127.0.0.1:8081/invite"
first_contact = true

[[endpoint]]
url = "http://127.0.0.1:8081/change-email"
missing = ["probe-{{fresh}}@example.com"]

[[endpoint]]
preset = "login"
`
	plan, err := ParsePlan(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, true, false} {
		p := plan.Probes[i]
		if got := p.Target.OnFirstContact(); got != want || p.Options.Warmup != 0 {
			t.Errorf("endpoint %d: first contact %v, warm-up %d; want %v, 0", i+1, got, p.Options.Warmup, want)
		}
	}
}

// TestIdentifiersFresh shows every missing identifier of a first-contact
// target, and every warm-up one, new: none repeated, none listed, each
// shaped like its pattern.
func TestIdentifiersFresh(t *testing.T) {
	target := &Target{Exists: []string{"alice@example.com"}, Missing: []string{"probe-{{fresh}}@example.org", "nobody@example.net"}, FirstContact: true}
	ids := newIdentifiers(target)
	seen := map[string]bool{}
	for i := range 200 {
		for _, id := range []string{ids.missing(i), ids.throwaway(i)} {
			if seen[id] || id == "alice@example.com" || id == "nobody@example.net" || strings.Contains(id, FreshMark) {
				t.Fatalf("identifier %q handed out twice, or not new", id)
			}
			seen[id] = true
		}
	}
	if m := ids.missing(0); !strings.HasPrefix(m, "probe-") || !strings.HasSuffix(m, "@example.org") || len(m) != len("probe-@example.org")+12 {
		t.Errorf("missing(0) = %q, want probe-<12 random>@example.org", m)
	}
	if m := ids.missing(1); !strings.HasSuffix(m, "@example.net") || len(m) != len("nobody@example.net")+2 {
		t.Errorf("missing(1) = %q, want a random local part of 8 characters (6 raised to the minimum) at example.net", m)
	}
	if ids.sent.Fresh != 402 || ids.sent.Missing != 202 || ids.sent.Warmup != 200 {
		t.Errorf("sent = %+v, want 402 fresh, 202 missing, 200 warm-up", ids.sent)
	}
}
