package ldap

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"golang.org/x/net/idna"

	"github.com/veil-id/veil"
)

// Operational attributes veil reads. entryUUID (RFC 4530) is the account
// ID: stable across renames and moves, unlike the DN, and opaque.
const (
	attrEntryUUID    = "entryUUID"
	attrLockedTime   = "pwdAccountLockedTime"
	attrFailureTime  = "pwdFailureTime"
	attrPolicy       = "pwdPolicySubentry"
	attrCreateTime   = "createTimestamp"
	attrModifiedTime = "modifyTimestamp"
)

// permanentLock is the pwdAccountLockedTime an operator sets to lock an
// entry for good (draft-behera-ldap-password-policy, OpenLDAP): the one
// lock veil reads as Disabled, ending the entry's sessions. A lock from
// failed binds is not: it comes and goes, and anyone able to cause one
// elsewhere must not be able to end veil's sessions with it.
const permanentLock = "000001010000Z"

// Size limits: maxListEntries bounds ListAccounts, an operator's command;
// identifierSizeLimit a sign-in's search.
const (
	maxListEntries      = 100000
	identifierSizeLimit = 10
)

// entry is what a search says about one directory entry.
type entry struct {
	dn       string
	account  *veil.Account
	failures []time.Time // pwdFailureTime, for the lockout guard
	policyDN string      // pwdPolicySubentry, "" for the default policy
	locked   bool        // pwdAccountLockedTime is set: locked now or lately
}

func (s *Store) attributes() []string {
	return []string{attrEntryUUID, s.cfg.EmailAttribute, s.cfg.NameAttribute,
		attrLockedTime, attrFailureTime, attrPolicy, attrCreateTime, attrModifiedTime}
}

// toEntry reads a search result entry. It reports false for an entry veil
// cannot use — no entryUUID, no address that normalizes — which then counts
// as absent.
func (s *Store) toEntry(e *goldap.Entry) (*entry, bool) {
	id := strings.ToLower(e.GetEqualFoldAttributeValue(attrEntryUUID))
	if !validUUID(id) {
		return nil, false
	}
	var email veil.Identifier
	for _, v := range e.GetEqualFoldAttributeValues(s.cfg.EmailAttribute) {
		if n, err := veil.NormalizeIdentifier(v); err == nil {
			email = n
			break
		}
	}
	if email == "" {
		return nil, false
	}
	ent := &entry{
		dn: e.DN,
		account: &veil.Account{
			ID:          id,
			Email:       email,
			DisplayName: e.GetEqualFoldAttributeValue(s.cfg.NameAttribute),
			Disabled:    e.GetEqualFoldAttributeValue(attrLockedTime) == permanentLock,
			CreatedAt:   parseGeneralizedTime(e.GetEqualFoldAttributeValue(attrCreateTime)),
			UpdatedAt:   parseGeneralizedTime(e.GetEqualFoldAttributeValue(attrModifiedTime)),
		},
		policyDN: e.GetEqualFoldAttributeValue(attrPolicy),
		locked:   e.GetEqualFoldAttributeValue(attrLockedTime) != "",
	}
	for _, v := range e.GetEqualFoldAttributeValues(attrFailureTime) {
		ent.failures = append(ent.failures, parseGeneralizedTime(v))
	}
	return ent, true
}

// validUUID reports whether s is a UUID in RFC 4122 text form, lower case.
// IDs are checked before they reach a filter, so nothing else ever does.
func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// parseGeneralizedTime reads the GeneralizedTime the directory writes
// (20260304050607Z, 20260304050607.123456Z) as UTC to the microsecond;
// the zero time for anything else.
func parseGeneralizedTime(v string) time.Time {
	for _, layout := range []string{"20060102150405.999999999Z", "20060102150405Z"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC().Truncate(time.Microsecond)
		}
	}
	return time.Time{}
}

// expandFilter puts value, escaped, where the filter has {identifier}.
func expandFilter(template, value string) string {
	return strings.ReplaceAll(template, IdentifierPlaceholder, goldap.EscapeFilter(value))
}

// identifierFilter returns the filter for id. A directory may hold an
// internationalized domain in either form, so both are asked for; veil's
// identifiers keep the Unicode form.
func (s *Store) identifierFilter(id veil.Identifier) string {
	f := expandFilter(s.cfg.Filter, string(id))
	at := strings.LastIndexByte(string(id), '@')
	if at < 0 {
		return f
	}
	ascii, err := idna.Lookup.ToASCII(string(id)[at+1:])
	if err != nil || ascii == string(id)[at+1:] {
		return f
	}
	return "(|" + f + expandFilter(s.cfg.Filter, string(id)[:at]+"@"+ascii) + ")"
}

// findEntries returns the usable entries that match id. The size limit only
// bounds the work of a filter that matches crowds: two usable entries
// already make the identifier ambiguous, and the limit leaves room for a
// few unusable ones beside them.
func (s *Store) findEntries(ctx context.Context, id veil.Identifier) ([]*entry, error) {
	req := goldap.NewSearchRequest(s.cfg.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		identifierSizeLimit, int(s.cfg.Timeout/time.Second), false, s.identifierFilter(id), s.attributes(), nil)
	found, err := s.searchEntries(ctx, req)
	if err != nil && err != errSizeLimit {
		return nil, err
	}
	var entries []*entry
	for _, e := range found {
		if ent, ok := s.toEntry(e); ok {
			entries = append(entries, ent)
		}
	}
	return entries, nil
}

// FindAccountByIdentifier returns the account of the one entry that matches
// id, or ENOTFOUND when none or several do.
func (s *Store) FindAccountByIdentifier(ctx context.Context, id veil.Identifier) (*veil.Account, error) {
	entries, err := s.findEntries(ctx, id)
	switch {
	case err != nil:
		return nil, err
	case len(entries) == 0:
		return nil, veil.Errorf(veil.ENOTFOUND, "No directory entry has this email address.")
	case len(entries) > 1:
		return nil, veil.Errorf(veil.ENOTFOUND, "Several directory entries have this email address.")
	}
	s.cache.put(entries[0].account)
	return entries[0].account, nil
}

// FindAccountByID returns the account of the entry whose entryUUID is id,
// or ENOTFOUND. Answers are cached for Config.CacheTTL: Authenticate asks
// on every request that carries a session.
func (s *Store) FindAccountByID(ctx context.Context, id string) (*veil.Account, error) {
	if !validUUID(id) {
		return nil, veil.Errorf(veil.ENOTFOUND, "No directory entry has this ID.")
	}
	if a := s.cache.get(id); a != nil {
		return a, nil
	}
	req := goldap.NewSearchRequest(s.cfg.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		2, int(s.cfg.Timeout/time.Second), false, "("+attrEntryUUID+"="+id+")", s.attributes(), nil)
	found, err := s.searchEntries(ctx, req)
	if err != nil && err != errSizeLimit {
		return nil, err
	}
	for _, e := range found {
		if ent, ok := s.toEntry(e); ok && ent.account.ID == id {
			s.cache.put(ent.account)
			return ent.account, nil
		}
	}
	return nil, veil.Errorf(veil.ENOTFOUND, "No directory entry has this ID.")
}

// ListAccounts returns the account of every usable entry the filter can
// match (the filter with * for the identifier), ordered by email.
func (s *Store) ListAccounts(ctx context.Context) ([]*veil.Account, error) {
	filter := strings.ReplaceAll(s.cfg.Filter, IdentifierPlaceholder, "*")
	req := goldap.NewSearchRequest(s.cfg.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		maxListEntries, 0, false, filter, s.attributes(), nil)
	c, err := s.search.get(ctx)
	if err != nil {
		return nil, err
	}
	s.count.searches.Add(1)
	res, err := c.SearchWithPaging(req, 500)
	s.search.put(c, isTransportError(err))
	if err != nil && ldapResultCode(err) != goldap.LDAPResultNoSuchObject {
		return nil, err
	}
	accounts := []*veil.Account{}
	if res != nil {
		for _, e := range res.Entries {
			if ent, ok := s.toEntry(e); ok {
				accounts = append(accounts, ent.account)
			}
		}
	}
	slices.SortFunc(accounts, func(a, b *veil.Account) int { return strings.Compare(string(a.Email), string(b.Email)) })
	return accounts, nil
}

// CreateAccount refuses: the directory is read-only to veil (EINVALID).
func (s *Store) CreateAccount(ctx context.Context, a *veil.Account) error { return errReadOnly }

// UpdateAccount refuses: the directory is read-only to veil (EINVALID).
func (s *Store) UpdateAccount(ctx context.Context, a *veil.Account) error { return errReadOnly }

// ReplacePasswordHash refuses (EINVALID). veil never asks: a directory
// check is never stale.
func (s *Store) ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string) error {
	return errReadOnly
}

// DeleteAccount refuses: the directory is read-only to veil (EINVALID).
func (s *Store) DeleteAccount(ctx context.Context, id string) error { return errReadOnly }

// accountCache keeps accounts by ID for a short while, bounded in size.
type accountCache struct{ *ttlCache[*veil.Account] }

func newAccountCache(ttl time.Duration, max int) *accountCache {
	return &accountCache{newTTLCache(ttl, max, func(a *veil.Account) *veil.Account { cp := *a; return &cp })}
}

// ttlCache keeps values by ID for a short while, bounded in size; it hands
// out copies, so no caller can change what another gets.
type ttlCache[V any] struct {
	ttl   time.Duration
	max   int
	clone func(V) V
	mu    sync.Mutex
	m     map[string]cached[V]
}

type cached[V any] struct {
	value   V
	expires time.Time
}

func newTTLCache[V any](ttl time.Duration, max int, clone func(V) V) *ttlCache[V] {
	return &ttlCache[V]{ttl: ttl, max: max, clone: clone, m: make(map[string]cached[V])}
}

// lookup returns a copy of the cached value.
func (c *ttlCache[V]) lookup(id string) (V, bool) {
	var zero V
	if c.ttl <= 0 {
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok {
		return zero, false
	}
	if time.Now().After(e.expires) {
		delete(c.m, id)
		return zero, false
	}
	return c.clone(e.value), true
}

// get returns a copy of the cached account, or nil.
func (c *accountCache) get(id string) *veil.Account {
	a, _ := c.lookup(id)
	return a
}

func (c *ttlCache[V]) store(id string, v V) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; !ok && len(c.m) >= c.max {
		// Full: drop an arbitrary entry. Map iteration order is random,
		// so no identifier can keep another out.
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[id] = cached[V]{value: c.clone(v), expires: time.Now().Add(c.ttl)}
}

func (c *accountCache) put(a *veil.Account) { c.store(a.ID, a) }
