// Package ldap fronts an existing LDAP directory (OpenLDAP, 389 DS, ...) as
// veil's read-only account store and password checker.
//
// A sign-in searches the directory once with a service account (the
// identifier escaped for the filter) and binds once: as the one matching
// entry with the given password, or — for no entry, several entries, or an
// entry veil must spare — as a decoy DN that cannot exist, which costs the
// same round trips. The password policy control is requested on every bind,
// so locked, expired and must-change entries are told apart for the audit
// log; the caller gets one verdict shape whatever the truth.
//
// This package must never tell anyone but package veil whether an entry
// exists: no error it returns depends on it, no log line it writes names an
// identifier or a DN. It must never write to the directory, and never bind
// as an entry whose recent failures would let one more failure lock it (see
// Config.LockoutReserve): an attacker must not be able to lock people out of
// every system that shares the directory by guessing through veil, nor
// out of veil in the browser they have signed in from before.
//
// Sessions, the audit log and secrets are not here: they stay in veil's own
// SQL store.
package ldap

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/veil-id/veil"
)

// IdentifierPlaceholder is replaced in Config.Filter by the escaped
// identifier.
const IdentifierPlaceholder = "{identifier}"

// Config says how to reach and read the directory.
type Config struct {
	// URL is ldap://host[:port] or ldaps://host[:port].
	URL string
	// StartTLS upgrades ldap:// connections before anything is sent. It
	// may be off only for a loopback host.
	StartTLS bool
	// RootCAs verifies the directory's certificate; nil means the
	// system's roots.
	RootCAs *x509.CertPool
	// TLS, when set, is the base TLS configuration (tests).
	TLS *tls.Config

	// BindDN and BindPassword are the service account that searches.
	BindDN       string
	BindPassword string
	// BaseDN is where people's entries are searched (subtree).
	BaseDN string
	// Filter finds the entries of an identifier, with {identifier} where
	// the normalized address goes: "(mail={identifier})",
	// "(&(objectClass=inetOrgPerson)(uid={identifier}))".
	Filter string
	// EmailAttribute holds an entry's address (default mail); entries
	// whose address does not normalize are treated as absent.
	EmailAttribute string
	// NameAttribute holds the display name (default displayName).
	NameAttribute string

	// PoolSize bounds the connections of each pool (search, bind).
	PoolSize int
	// DialTimeout bounds connecting (with TLS); Timeout bounds each
	// operation.
	DialTimeout time.Duration
	Timeout     time.Duration
	// CacheTTL is how long FindAccountByID may answer from memory:
	// sessions look their account up on every request. A disabled or
	// removed entry keeps its sessions that long. 0 turns the cache off.
	CacheTTL time.Duration

	// PasswordPolicyDN names the directory's default password policy
	// (OpenLDAP's ppolicy_default). Empty: every readable pwdPolicy
	// entry is read, and the strictest applies to entries without their
	// own pwdPolicySubentry.
	PasswordPolicyDN string
	// LockoutReserve is how many failures below the policy's
	// pwdMaxFailure strangers leave to the person: an attempt without a
	// trusted device cookie does not bind as an entry whose recent
	// failures (pwdFailureTime) plus one plus the reserve would reach
	// pwdMaxFailure; a trusted attempt keeps a reserve of one, so veil
	// never makes the failure that locks an entry. The person's own
	// browser thus has LockoutReserve − 1 attempts that no stranger can
	// spend. 0 means the default, 2; 1 would give her none and is refused.
	LockoutReserve int

	// Groups says where an entry's groups are read from (groups.go); the
	// zero value reads none.
	Groups GroupConfig

	// Now is the clock for failure windows; nil means time.Now.
	Now func() time.Time
}

// Defaults for the zero fields of Config.
const (
	DefaultPoolSize       = 8
	DefaultDialTimeout    = 5 * time.Second
	DefaultTimeout        = 5 * time.Second
	DefaultCacheTTL       = 30 * time.Second
	DefaultLockoutReserve = 2
	maxCacheEntries       = 10000
)

// Store is a directory as a read-only veil.AccountStore and a
// veil.PasswordChecker. It is safe for concurrent use.
type Store struct {
	cfg     Config
	search  *pool
	bind    *pool
	count   *counters
	decoyDN string
	cache   *accountCache
	// groupCache keeps AccountGroups' answers like cache (groups.go).
	groupCache *ttlCache[[]string]
	policy     *policyCache
	// attempts serializes sign-ins per identifier, so two at once cannot
	// both pass the lockout check on the same failure count.
	attempts stripes
}

var (
	_ veil.AccountStore    = (*Store)(nil)
	_ veil.PasswordChecker = (*Store)(nil)
)

// errReadOnly answers every write: the directory is the source of truth,
// and its operators change it with their own tools.
var errReadOnly = veil.Errorf(veil.EINVALID, "Accounts are managed in the directory, not in veil.")

// New checks cfg, connects once as the service account to fail early on a
// wrong URL, certificate or password, and reads the password policies.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, count: &counters{}}
	d, err := newDialer(&cfg, s.count)
	if err != nil {
		return nil, err
	}
	s.search = newPool("search", cfg.PoolSize, cfg.Timeout, func(ctx context.Context) (*goldap.Conn, error) { return s.dialService(ctx, d) })
	s.bind = newPool("bind", cfg.PoolSize, cfg.Timeout, d.open)
	s.decoyDN = newDecoyDN(cfg.BaseDN)
	s.cache = newAccountCache(cfg.CacheTTL, maxCacheEntries)
	s.groupCache = newTTLCache(cfg.CacheTTL, maxCacheEntries, slices.Clone[[]string])
	s.policy = newPolicyCache(cfg.PasswordPolicyDN)
	c, err := s.search.get(ctx)
	if err != nil {
		return nil, err
	}
	s.search.put(c, false)
	s.policy.refresh(ctx, s)
	return s, nil
}

func (cfg *Config) setDefaults() error {
	if cfg.URL == "" || cfg.BaseDN == "" || cfg.BindDN == "" {
		return errors.New("ldap: the URL, the base DN and the service account's DN are required")
	}
	if cfg.Filter == "" {
		cfg.Filter = "(mail=" + IdentifierPlaceholder + ")"
	}
	if !strings.Contains(cfg.Filter, IdentifierPlaceholder) {
		return fmt.Errorf("ldap: the filter %q has no %s", cfg.Filter, IdentifierPlaceholder)
	}
	if _, err := goldap.CompileFilter(expandFilter(cfg.Filter, "x@example.com")); err != nil {
		return fmt.Errorf("ldap: the filter %q is not a valid LDAP filter: %w", cfg.Filter, err)
	}
	if _, err := goldap.ParseDN(cfg.BaseDN); err != nil {
		return fmt.Errorf("ldap: the base DN %q: %w", cfg.BaseDN, err)
	}
	cfg.EmailAttribute = cmpOr(cfg.EmailAttribute, "mail")
	cfg.NameAttribute = cmpOr(cfg.NameAttribute, "displayName")
	cfg.PoolSize = cmpOr(cfg.PoolSize, DefaultPoolSize)
	cfg.DialTimeout = cmpOr(cfg.DialTimeout, DefaultDialTimeout)
	cfg.Timeout = cmpOr(cfg.Timeout, DefaultTimeout)
	cfg.LockoutReserve = cmpOr(cfg.LockoutReserve, DefaultLockoutReserve)
	if cfg.PoolSize < 0 || cfg.DialTimeout < 0 || cfg.Timeout < 0 || cfg.CacheTTL < 0 || cfg.LockoutReserve < 0 {
		return errors.New("ldap: sizes, timeouts and the lockout reserve must not be negative")
	}
	if cfg.LockoutReserve < 2 {
		// With a reserve of one, strangers could spend every failure the
		// person's own browser needs.
		return errors.New("ldap: the lockout reserve must be at least 2")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg.Groups.check()
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// dialService opens a search connection and binds it as the service
// account.
func (s *Store) dialService(ctx context.Context, d *dialer) (*goldap.Conn, error) {
	c, err := d.open(ctx)
	if err != nil {
		return nil, err
	}
	s.count.serviceBinds.Add(1)
	if err := c.Bind(s.cfg.BindDN, s.cfg.BindPassword); err != nil {
		c.Close()
		return nil, fmt.Errorf("ldap: binding as the service account %s: %w", s.cfg.BindDN, err)
	}
	return c, nil
}

// newDecoyDN returns a DN under base that no entry has: 128 random bits in
// its RDN. Binding as it costs the directory a lookup that misses, and
// touches no entry's password policy state.
func newDecoyDN(base string) string {
	var b [16]byte
	rand.Read(b[:])
	return "cn=veil-decoy-" + hex.EncodeToString(b[:]) + "," + base
}

// Close closes the connections.
func (s *Store) Close() error {
	s.search.close()
	s.bind.close()
	return nil
}

// Stats returns how many operations the store has sent so far.
func (s *Store) Stats() Stats { return s.count.snapshot() }

// searchEntries runs one search over a service connection. A connection
// that turns out broken is replaced and the search sent once more: searches
// change nothing, and a stale pooled connection fails the same way whatever
// is searched for.
func (s *Store) searchEntries(ctx context.Context, req *goldap.SearchRequest) ([]*goldap.Entry, error) {
	for attempt := 0; ; attempt++ {
		c, err := s.search.get(ctx)
		if err != nil {
			return nil, err
		}
		s.count.searches.Add(1)
		res, err := c.Search(req)
		s.search.put(c, isTransportError(err))
		switch {
		case err == nil:
			return res.Entries, nil
		case ldapResultCode(err) == goldap.LDAPResultSizeLimitExceeded:
			return res.Entries, errSizeLimit
		case ldapResultCode(err) == goldap.LDAPResultNoSuchObject:
			return nil, nil
		case isTransportError(err) && attempt == 0:
			continue
		}
		return nil, fmt.Errorf("ldap: searching %s: %w", req.BaseDN, err)
	}
}

// errSizeLimit marks a search that found more entries than it asked for.
var errSizeLimit = errors.New("ldap: more entries than the size limit")

// stripes is a fixed set of locks chosen by a key's hash: bounded memory
// whatever the number of identifiers. Waiting for one ends with the
// caller's context, so a directory that hangs cannot pile up waiters.
type stripes struct {
	once  sync.Once
	locks [256]chan struct{}
}

func (st *stripes) lock(ctx context.Context, key string) (unlock func(), err error) {
	st.once.Do(func() {
		for i := range st.locks {
			st.locks[i] = make(chan struct{}, 1)
		}
	})
	var h uint32 = 2166136261 // FNV-1a
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	l := st.locks[h%uint32(len(st.locks))]
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("ldap: waiting for an earlier sign-in of the same identifier: %w", ctx.Err())
	}
}
