package ldap_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/ldap"
	"github.com/veil-id/veil/ldap/ldaptest"
)

// addGroups adds ou=groups under base with admins (alice), ops (alice and
// carol), "Domain Users" (alice; a name veil leaves out) and others
// (lena).
func addGroups(tb testing.TB, srv *ldaptest.Server, base string) string {
	tb.Helper()
	groups := "ou=groups," + base
	group := func(cn string, members ...string) string {
		s := "dn: cn=" + cn + "," + groups + "\nobjectClass: groupOfNames\ncn: " + cn + "\n"
		for _, m := range members {
			s += "member: uid=" + m + "," + base + "\n"
		}
		return s + "\n"
	}
	srv.LDAPAdd(tb, "dn: "+groups+"\nobjectClass: organizationalUnit\nou: groups\n\n"+
		group("admins", "alice")+group("ops", "alice", "carol")+group("Domain Users", "alice")+group("others", "lena"))
	return groups
}

func mustGroups(tb testing.TB, st *ldap.Store, email string, want ...string) {
	tb.Helper()
	acct, err := st.FindAccountByIdentifier(tb.Context(), mustIdentifier(tb, email))
	if err != nil {
		tb.Fatalf("FindAccountByIdentifier(%s): %v", email, err)
	}
	got, err := st.AccountGroups(tb.Context(), acct.ID)
	if want == nil {
		want = []string{}
	}
	if err != nil || !slices.Equal(got, want) {
		tb.Fatalf("AccountGroups(%s) = %#v, %v; want %#v", email, got, err, want)
	}
}

// TestDirectoryGroups reads groups from a real slapd both ways: the
// memberOf the directory keeps on people's entries, and a search of the
// groups for the person's DN; either gives the same names.
func TestDirectoryGroups(t *testing.T) {
	srv := ldaptest.Start(t)
	base := srv.NewPeople(t)
	groups := addGroups(t, srv, base)
	for name, gc := range map[string]ldap.GroupConfig{
		"memberOf": {Attribute: "memberOf"},
		"search":   {BaseDN: groups, Filter: "(&(objectClass=groupOfNames)(member={dn}))"},
		"both":     {Attribute: "memberOf", BaseDN: groups, Filter: "(member={dn})"},
	} {
		t.Run(name, func(t *testing.T) {
			st := MustOpenStore(t, srv, base, func(c *ldap.Config) { c.Groups = gc })
			mustGroups(t, st, "alice@example.com", "admins", "ops")
			mustGroups(t, st, "carol@example.com", "ops")
			mustGroups(t, st, "mona@example.com")
			if g, err := st.AccountGroups(t.Context(), "00000000-0000-0000-0000-000000000000"); err != nil || len(g) != 0 {
				t.Errorf("AccountGroups(unknown) = %v, %v; want none", g, err)
			}
			if g, err := st.AccountGroups(t.Context(), "*)(uid=*"); err != nil || len(g) != 0 {
				t.Errorf("AccountGroups(filter injection) = %v, %v; want none", g, err)
			}
			list, err := st.ListGroups(t.Context())
			want := []veil.Group{{Name: "admins", Members: 1}, {Name: "ops", Members: 2}, {Name: "others", Members: 1}}
			if err != nil || !slices.Equal(list, want) {
				t.Errorf("ListGroups = %v, %v; want %v", list, err, want)
			}
		})
	}
	st := MustOpenStore(t, srv, base)
	mustGroups(t, st, "alice@example.com") // no group configuration: none
}

// TestDirectoryGroupsCached: a change in the directory shows within
// CacheTTL, not at once, and right away without a cache.
func TestDirectoryGroupsCached(t *testing.T) {
	srv := ldaptest.Start(t)
	base := srv.NewPeople(t)
	groups := addGroups(t, srv, base)
	cached := MustOpenStore(t, srv, base, func(c *ldap.Config) { c.Groups.Attribute = "memberOf"; c.CacheTTL = 500 * time.Millisecond })
	fresh := MustOpenStore(t, srv, base, func(c *ldap.Config) { c.Groups.Attribute = "memberOf"; c.CacheTTL = 0 })
	mustGroups(t, cached, "carol@example.com", "ops")
	srv.LDAPModify(t, "dn: cn=admins,"+groups+"\nchangetype: modify\nadd: member\nmember: uid=carol,"+base+"\n")
	mustGroups(t, fresh, "carol@example.com", "admins", "ops")
	mustGroups(t, cached, "carol@example.com", "ops")
	time.Sleep(600 * time.Millisecond)
	mustGroups(t, cached, "carol@example.com", "admins", "ops")
}

func TestDirectoryGroupConfigRefused(t *testing.T) {
	for _, gc := range []ldap.GroupConfig{
		{BaseDN: "ou=groups,dc=x"},
		{Filter: "(member={dn})"},
		{BaseDN: "ou=groups,dc=x", Filter: "(member=x)"},
		{BaseDN: "ou=groups,dc=x", Filter: "(member={dn}"},
		{BaseDN: "not a dn", Filter: "(member={dn})"},
	} {
		_, err := ldap.New(t.Context(), ldap.Config{URL: "ldap://127.0.0.1:1", BaseDN: "dc=x", BindDN: "cn=x", Groups: gc})
		if err == nil || !strings.Contains(err.Error(), "group") {
			t.Errorf("ldap.New with groups %+v = %v, want a group configuration error", gc, err)
		}
	}
}
