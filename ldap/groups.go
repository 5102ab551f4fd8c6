package ldap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/veil-id/veil"
)

// DNPlaceholder is replaced in GroupConfig.Filter by the escaped DN of the
// person's entry.
const DNPlaceholder = "{dn}"

// GroupConfig says where the directory keeps who is in which group. Either
// or both may be set; an entry's groups are the union.
type GroupConfig struct {
	// Attribute, when set, is an attribute of the person's entry whose
	// values are the DNs of their groups: memberOf (OpenLDAP's memberof
	// overlay, Active Directory, 389 DS). A group's name is the value of
	// the first RDN of its DN (cn=admins,ou=groups,... is admins).
	Attribute string
	// BaseDN and Filter, when set, search the groups instead (subtree),
	// with {dn} where the person's DN goes:
	// "(&(objectClass=groupOfNames)(member={dn}))". A group's name is
	// its NameAttribute (default cn).
	BaseDN        string
	Filter        string
	NameAttribute string
}

// maxGroups bounds the groups read for one entry.
const maxGroups = 1000

func (g *GroupConfig) check() error {
	if (g.BaseDN == "") != (g.Filter == "") {
		return errors.New("ldap: a group search needs both its base DN and its filter")
	}
	if g.Filter == "" {
		return nil
	}
	if !strings.Contains(g.Filter, DNPlaceholder) {
		return fmt.Errorf("ldap: the group filter %q has no %s", g.Filter, DNPlaceholder)
	}
	if _, err := goldap.CompileFilter(expandGroupFilter(g.Filter, "uid=x,dc=example,dc=com")); err != nil {
		return fmt.Errorf("ldap: the group filter %q is not a valid LDAP filter: %w", g.Filter, err)
	}
	if _, err := goldap.ParseDN(g.BaseDN); err != nil {
		return fmt.Errorf("ldap: the group base DN %q: %w", g.BaseDN, err)
	}
	g.NameAttribute = cmpOr(g.NameAttribute, "cn")
	return nil
}

func (g *GroupConfig) enabled() bool { return g.Attribute != "" || g.Filter != "" }

func expandGroupFilter(template, dn string) string {
	return strings.ReplaceAll(template, DNPlaceholder, goldap.EscapeFilter(dn))
}

var _ veil.GroupReader = (*Store)(nil)

// AccountGroups returns the groups of the entry whose entryUUID is id, from
// the configured attribute and group search, sorted; names that do not fit
// veil.NormalizeGroupName are left out. Answers are cached like
// FindAccountByID's, for Config.CacheTTL.
func (s *Store) AccountGroups(ctx context.Context, id string) ([]string, error) {
	if !s.cfg.Groups.enabled() || !validUUID(id) {
		return []string{}, nil
	}
	if g, ok := s.groupCache.lookup(id); ok {
		return g, nil
	}
	attrs := []string{attrEntryUUID}
	if s.cfg.Groups.Attribute != "" {
		attrs = append(attrs, s.cfg.Groups.Attribute)
	}
	req := goldap.NewSearchRequest(s.cfg.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		2, int(s.cfg.Timeout/time.Second), false, "("+attrEntryUUID+"="+id+")", attrs, nil)
	found, err := s.searchEntries(ctx, req)
	if err != nil && err != errSizeLimit {
		return nil, err
	}
	var names []string
	for _, e := range found {
		if !strings.EqualFold(e.GetEqualFoldAttributeValue(attrEntryUUID), id) {
			continue
		}
		for _, dn := range e.GetEqualFoldAttributeValues(s.cfg.Groups.Attribute) {
			names = append(names, firstRDNValue(dn))
		}
		if s.cfg.Groups.Filter != "" {
			more, err := s.searchGroups(ctx, e.DN)
			if err != nil {
				return nil, err
			}
			names = append(names, more...)
		}
		break
	}
	groups := veil.GroupNames(names)
	s.groupCache.store(id, groups)
	return slices.Clone(groups), nil
}

// searchGroups returns the names of the groups the group search finds for
// the entry dn.
func (s *Store) searchGroups(ctx context.Context, dn string) ([]string, error) {
	g := s.cfg.Groups
	req := goldap.NewSearchRequest(g.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		maxGroups, int(s.cfg.Timeout/time.Second), false, expandGroupFilter(g.Filter, dn), []string{g.NameAttribute}, nil)
	found, err := s.searchEntries(ctx, req)
	if err != nil && err != errSizeLimit {
		return nil, err
	}
	var names []string
	for _, e := range found {
		names = append(names, e.GetEqualFoldAttributeValues(g.NameAttribute)...)
	}
	return names, nil
}

// firstRDNValue is "admins" for "cn=admins,ou=groups,dc=example,dc=com",
// "" for what does not parse.
func firstRDNValue(dn string) string {
	d, err := goldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) == 0 {
		return ""
	}
	return d.RDNs[0].Attributes[0].Value
}

// ListGroups returns every group that an account ListAccounts sees is in,
// with how many of them: an operator's command, one search per account.
func (s *Store) ListGroups(ctx context.Context) ([]veil.Group, error) {
	accounts, err := s.ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, a := range accounts {
		groups, err := s.AccountGroups(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			counts[g]++
		}
	}
	out := []veil.Group{}
	for name, n := range counts {
		out = append(out, veil.Group{Name: name, Members: n})
	}
	slices.SortFunc(out, func(a, b veil.Group) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
