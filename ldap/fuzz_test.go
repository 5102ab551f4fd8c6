package ldap

import (
	"strings"
	"testing"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/veil-id/veil"
)

// FuzzIdentifierFilter: whatever a person types as an identifier, once
// normalized it can only ever be a value in the operator's filter — never
// change the filter's structure (LDAP injection, RFC 4515).
func FuzzIdentifierFilter(f *testing.F) {
	for _, s := range []string{"alice@example.com", "x)(uid=*@example.com", `a\2a@example.com`, "*@example.com",
		"zoe@bücher.example", "a\x00b@example.com", "(|(mail=*))@example.com", "ǅ@example.com"} {
		f.Add(s)
	}
	const template = "(&(objectClass=inetOrgPerson)(mail={identifier}))"
	s := &Store{cfg: Config{Filter: template}}
	f.Fuzz(func(t *testing.T, raw string) {
		id, err := veil.NormalizeIdentifier(raw)
		if err != nil {
			return
		}
		got := s.identifierFilter(id)
		if _, err := goldap.CompileFilter(got); err != nil {
			t.Fatalf("identifierFilter(%q) = %q, which does not compile: %v", id, got, err)
		}
		// Every special character of the value is escaped, so the only
		// parentheses and asterisks are the template's own.
		want := strings.Count(template, "(")
		if strings.HasPrefix(got, "(|") { // an IDNA domain: the template twice, in an OR
			want = 2*want + 1
		}
		if strings.Count(got, "(") != want || strings.Count(got, ")") != want || strings.Contains(got, "*") {
			t.Fatalf("identifierFilter(%q) = %q: the value changed the filter's structure", id, got)
		}
	})
}

// FuzzParseGeneralizedTime: directory attributes are input too; a
// malformed pwdFailureTime or pwdAccountLockedTime must parse to the zero
// time or a valid one, never panic.
func FuzzParseGeneralizedTime(f *testing.F) {
	for _, s := range []string{"20261122082706Z", "20261122082718.121357Z", "000001010000Z", "", "2026", "20261322082706Z", "20261122082706.Z", "20261122082706+0100"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := parseGeneralizedTime(v)
		if !got.IsZero() && (!utf8.ValidString(v) || got.Location().String() != "UTC") {
			t.Fatalf("parseGeneralizedTime(%q) = %v", v, got)
		}
	})
}
