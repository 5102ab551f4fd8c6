package ldap

import (
	"context"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/veil-id/veil"
)

func TestVerdict(t *testing.T) {
	pp := func(errCode int8, grace int64) *goldap.ControlBeheraPasswordPolicy {
		c := goldap.NewControlBeheraPasswordPolicy()
		c.Error, c.Grace = errCode, grace
		return c
	}
	invalid := goldap.LDAPResultInvalidCredentials
	tests := []struct {
		name       string
		res        bindResult
		wantMatch  bool
		wantReason string
	}{
		{"success", bindResult{ok: true, code: -1}, true, veil.ReasonNone},
		{"success, empty control", bindResult{ok: true, code: -1, policy: pp(-1, -1)}, true, veil.ReasonNone},
		{"must change", bindResult{ok: true, code: -1, policy: pp(goldap.BeheraChangeAfterReset, -1)}, true, veil.ReasonMustChange},
		{"grace login", bindResult{ok: true, code: -1, policy: pp(-1, 2)}, true, veil.ReasonExpired},
		{"grace login, last one", bindResult{ok: true, code: -1, policy: pp(-1, 0)}, true, veil.ReasonExpired},
		{"wrong password", bindResult{code: invalid}, false, veil.ReasonWrongPassword},
		{"wrong password, empty control", bindResult{code: invalid, policy: pp(-1, -1)}, false, veil.ReasonWrongPassword},
		{"locked", bindResult{code: invalid, policy: pp(goldap.BeheraAccountLocked, -1)}, false, veil.ReasonLocked},
		{"expired", bindResult{code: invalid, policy: pp(goldap.BeheraPasswordExpired, -1)}, false, veil.ReasonExpired},
		{"unwilling", bindResult{code: goldap.LDAPResultUnwillingToPerform}, false, veil.ReasonError},
		{"no bind at all", bindResult{code: -1}, false, veil.ReasonError},
	}
	for _, tt := range tests {
		match, reason := tt.res.verdict()
		if match != tt.wantMatch || reason != tt.wantReason {
			t.Errorf("%s: verdict() = %v, %q; want %v, %q", tt.name, match, reason, tt.wantMatch, tt.wantReason)
		}
	}
}

func TestSpare(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	ago := func(d ...time.Duration) []time.Time {
		var ts []time.Time
		for _, x := range d {
			ts = append(ts, now.Add(-x))
		}
		return ts
	}
	five := &Policy{DN: "cn=five", MaxFailure: 5, Lockout: true}
	windowed := &Policy{DN: "cn=windowed", MaxFailure: 5, Lockout: true, FailureCountInterval: time.Hour}
	noLockout := &Policy{DN: "cn=nolockout", MaxFailure: 3}
	two := &Policy{DN: "cn=two", MaxFailure: 2, Lockout: true}
	tests := []struct {
		name     string
		policy   *Policy
		reserve  int
		trusted  bool
		failures []time.Time
		want     bool
	}{
		{"no failures", five, 2, false, nil, false},
		{"two failures", five, 2, false, ago(1, 2), false},
		{"three failures: the rest is the person's", five, 2, false, ago(1, 2, 3), true},
		{"three failures, trusted", five, 2, true, ago(1, 2, 3), false},
		{"four failures, trusted: one more would lock", five, 2, true, ago(1, 2, 3, 4), true},
		{"four failures, reserve of three", five, 3, false, ago(1, 2), true},
		{"two failures, reserve of three, trusted", five, 3, true, ago(1, 2), false},
		{"five failures: locked", five, 2, true, ago(1, 2, 3, 4, 5), true},
		{"old failures outside the window", windowed, 2, false, ago(2*time.Hour, 3*time.Hour, 4*time.Hour, 5*time.Hour), false},
		{"recent failures inside the window", windowed, 2, false, ago(time.Minute, 2*time.Minute, 3*time.Minute), true},
		{"recent failures inside the window, trusted", windowed, 2, true, ago(time.Minute, 2*time.Minute, 3*time.Minute), false},
		{"unreadable failure times count", windowed, 2, true, []time.Time{{}, {}, {}, {}}, true},
		{"policy without lockout", noLockout, 2, false, ago(1, 2, 3, 4, 5, 6), false},
		{"no policy known", nil, 2, false, ago(1, 2, 3, 4, 5, 6), false},
		{"reserve not below pwdMaxFailure: strangers never bind", two, 2, false, nil, true},
		{"reserve not below pwdMaxFailure, trusted", two, 2, true, nil, false},
	}
	for _, tt := range tests {
		s := &Store{cfg: Config{LockoutReserve: tt.reserve, Now: func() time.Time { return now }}, policy: newPolicyCache("")}
		s.policy.fallback = tt.policy
		if got := s.spare(&entry{failures: tt.failures}, tt.trusted); got != tt.want {
			t.Errorf("%s: spare(trusted %v) = %v, want %v", tt.name, tt.trusted, got, tt.want)
		}
	}
}

func TestReserveWarning(t *testing.T) {
	tests := []struct {
		reserve int
		policy  Policy
		want    bool
	}{
		{2, Policy{MaxFailure: 5, Lockout: true}, false},
		{2, Policy{MaxFailure: 3, Lockout: true}, false},
		{2, Policy{MaxFailure: 2, Lockout: true}, true},
		{3, Policy{MaxFailure: 1, Lockout: true}, true},
		{2, Policy{MaxFailure: 2}, false}, // never locks
	}
	for _, tt := range tests {
		if got := ReserveWarning(tt.reserve, tt.policy); (got != "") != tt.want {
			t.Errorf("ReserveWarning(%d, %+v) = %q, want a warning: %v", tt.reserve, tt.policy, got, tt.want)
		}
	}
}

func TestPolicyForEntry(t *testing.T) {
	pc := newPolicyCache("cn=Default,ou=Policies,dc=example")
	def := &Policy{DN: "cn=default,ou=policies,dc=example", MaxFailure: 10, Lockout: true}
	strict := &Policy{DN: "cn=strict,ou=policies,dc=example", MaxFailure: 3, Lockout: true}
	pc.byDN = map[string]*Policy{normalizeDN(def.DN): def, normalizeDN(strict.DN): strict}
	pc.fallback, pc.strictest = def, strict
	tests := []struct {
		subentry string
		want     *Policy
	}{
		{"", def},
		{"cn=strict,ou=policies,dc=example", strict},
		{"CN=Strict, OU=Policies, DC=example", strict},
		{"cn=unreadable,ou=policies,dc=example", strict},
	}
	for _, tt := range tests {
		if got := pc.forEntry(tt.subentry); got != tt.want {
			t.Errorf("forEntry(%q) = %+v, want %+v", tt.subentry, got, tt.want)
		}
	}
}

func TestLockoutWarning(t *testing.T) {
	five := Policy{DN: "cn=default", MaxFailure: 5, Lockout: true}
	tests := []struct {
		threshold int
		policy    Policy
		want      bool
	}{
		{3, five, false},
		{4, five, false},
		{5, five, true},
		{10, five, true},
		{0, five, true}, // no throttle at all
		{10, Policy{MaxFailure: 5}, false},
		{10, Policy{Lockout: true}, false},
	}
	for _, tt := range tests {
		got := LockoutWarning(tt.threshold, tt.policy)
		if (got != "") != tt.want {
			t.Errorf("LockoutWarning(%d, %+v) = %q, want a warning: %v", tt.threshold, tt.policy, got, tt.want)
		}
	}
}

func TestValidUUID(t *testing.T) {
	tests := map[string]bool{
		"3f493000-7a9a-1041-8c7b-2d3bc1ffe9f0":  true,
		"3F493000-7A9A-1041-8C7B-2D3BC1FFE9F0":  false, // IDs are lower case
		"3f4930007a9a10418c7b2d3bc1ffe9f0":      false,
		"3f493000-7a9a-1041-8c7b-2d3bc1ffe9f":   false,
		"3f493000-7a9a-1041-8c7b-2d3bc1ffe9f0)": false,
		"3f493000-7a9a-1041-8c7b*2d3bc1ffe9f0":  false,
		"":                                      false,
	}
	for in, want := range tests {
		if got := validUUID(in); got != want {
			t.Errorf("validUUID(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestParseGeneralizedTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"20261122082706Z", time.Date(2026, 11, 22, 8, 27, 6, 0, time.UTC)},
		{"20261122082718.121357Z", time.Date(2026, 11, 22, 8, 27, 18, 121357000, time.UTC)},
		{"20261122082718.1213579Z", time.Date(2026, 11, 22, 8, 27, 18, 121357000, time.UTC)},
		{"000001010000Z", time.Time{}},
		{"yesterday", time.Time{}},
		{"", time.Time{}},
	}
	for _, tt := range tests {
		if got := parseGeneralizedTime(tt.in); !got.Equal(tt.want) {
			t.Errorf("parseGeneralizedTime(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestIdentifierFilter(t *testing.T) {
	tests := []struct {
		template, id, want string
	}{
		{"(mail={identifier})", "alice@example.com", "(mail=alice@example.com)"},
		{"(mail={identifier})", "a*b@example.com", `(mail=a\2ab@example.com)`},
		{"(mail={identifier})", "x)(uid=*@example.com", `(mail=x\29\28uid=\2a@example.com)`},
		{"(mail={identifier})", `back\slash@example.com`, `(mail=back\5cslash@example.com)`},
		{"(mail={identifier})", "zoë@example.com", `(mail=zo\c3\ab@example.com)`},
		{"(mail={identifier})", "zoe@bücher.example", `(|(mail=zoe@b\c3\bccher.example)(mail=zoe@xn--bcher-kva.example))`},
		{"(&(objectClass=inetOrgPerson)(|(mail={identifier})(uid={identifier})))", "a@example.com",
			"(&(objectClass=inetOrgPerson)(|(mail=a@example.com)(uid=a@example.com)))"},
	}
	for _, tt := range tests {
		s := &Store{cfg: Config{Filter: tt.template}}
		got := s.identifierFilter(veil.Identifier(tt.id))
		if got != tt.want {
			t.Errorf("identifierFilter(%q, %q) = %q, want %q", tt.template, tt.id, got, tt.want)
		}
		if _, err := goldap.CompileFilter(got); err != nil {
			t.Errorf("identifierFilter(%q, %q) = %q, which does not compile: %v", tt.template, tt.id, got, err)
		}
		if strings.Count(got, "(") != strings.Count(got, ")") {
			t.Errorf("identifierFilter(%q, %q) = %q: unbalanced", tt.template, tt.id, got)
		}
	}
}

func TestAccountCacheIsBounded(t *testing.T) {
	c := newAccountCache(time.Minute, 3)
	for i := range 10 {
		c.put(&veil.Account{ID: string(rune('a' + i))})
	}
	if len(c.m) != 3 {
		t.Errorf("cache holds %d accounts, want at most 3", len(c.m))
	}
	a := &veil.Account{ID: "z", DisplayName: "before"}
	c.put(a)
	a.DisplayName = "changed by the caller"
	if got := c.get("z"); got == nil || got.DisplayName != "before" {
		t.Errorf("get(z) = %+v, want the copy made at put", got)
	}
}

func TestStripesWaitEndsWithContext(t *testing.T) {
	var st stripes
	unlock, err := st.lock(t.Context(), "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := st.lock(ctx, "alice@example.com"); err == nil {
		t.Fatal("a second lock of the same key succeeded while the first was held")
	}
	unlock()
	again, err := st.lock(t.Context(), "alice@example.com")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()
}
