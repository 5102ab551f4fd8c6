package veil

import (
	"context"
	"slices"
	"sync"
	"time"
)

// A forward-auth check runs in front of every request to every app behind
// the proxy, so it may answer from a short-lived cache of identities:
// ServiceConfig.IdentityCacheTTL. The price is a bound on how late a
// change is seen. Signing out, and revoking through the same process, take
// effect at once in that process (a check still running when they happen
// does not cache what it read); everywhere else — other instances, a
// revocation, a disabled account, a group change made with the CLI — within
// the TTL. Only valid sessions are cached, so the cache can neither be
// filled with guesses nor answer one faster.

// DefaultIdentityCacheTTL is the cache's default lifetime: how late, at
// most, another instance sees a sign-out or a revocation.
const DefaultIdentityCacheTTL = 2 * time.Second

// maxCachedIdentities bounds the cache (invariant 10): past it, an
// arbitrary entry makes room.
const maxCachedIdentities = 10000

// identityCache keeps the account and groups of valid sessions by the
// session's hash.
type identityCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedIdentity
	// gen counts forgets: a lookup that began before one does not cache
	// what it read, which may be what was just ended.
	gen uint64
}

type cachedIdentity struct {
	account *Account
	groups  []string
	until   time.Time
}

func newIdentityCache(ttl time.Duration) *identityCache {
	return &identityCache{ttl: ttl, m: make(map[string]cachedIdentity)}
}

// get returns the cached identity, or ok = false and the generation to
// hand to put.
func (c *identityCache) get(idHash []byte, now time.Time) (a *Account, groups []string, gen uint64, ok bool) {
	if c.ttl <= 0 {
		return nil, nil, 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[string(idHash)]
	if !ok || !now.Before(e.until) {
		delete(c.m, string(idHash))
		return nil, nil, c.gen, false
	}
	cp := *e.account
	return &cp, slices.Clone(e.groups), c.gen, true
}

// put caches until now+ttl, or the session's own end if that comes first.
// put does nothing if anything was forgotten since get gave gen.
func (c *identityCache) put(gen uint64, idHash []byte, sess *Session, a *Account, groups []string, now time.Time, idle time.Duration) {
	if c.ttl <= 0 {
		return
	}
	until := now.Add(c.ttl)
	for _, end := range []time.Time{sess.ExpiresAt, sess.LastSeenAt.Add(idle)} {
		if end.Before(until) {
			until = end
		}
	}
	cp := *a
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if _, ok := c.m[string(idHash)]; !ok && len(c.m) >= maxCachedIdentities {
		for k := range c.m {
			delete(c.m, k) // map order is random: nobody can keep another out
			break
		}
	}
	c.m[string(idHash)] = cachedIdentity{account: &cp, groups: slices.Clone(groups), until: until}
}

func (c *identityCache) forget(idHash []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, string(idHash))
}

func (c *identityCache) forgetAccount(accountID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.m {
		if e.account.ID == accountID {
			delete(c.m, k)
		}
	}
}

// ForwardAuthIdentity is Authenticate and AccountGroups for a forward-auth
// check, answered from the identity cache when it can be (see
// DefaultIdentityCacheTTL for what that costs). Its failures are
// Authenticate's.
func (s *Service) ForwardAuthIdentity(ctx context.Context, token string) (*Account, []string, error) {
	if !validSessionToken(token) {
		return nil, nil, errNoSession
	}
	idHash := HashToken(token)
	now := s.cfg.Clock.Now()
	a, g, gen, ok := s.identities.get(idHash, now)
	if ok {
		return a, g, nil
	}
	acct, sess, err := s.Authenticate(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	groups, err := s.AccountGroups(ctx, acct.ID)
	if err != nil {
		return nil, nil, err
	}
	s.identities.put(gen, idHash, sess, acct, groups, now, s.cfg.SessionPolicy.IdleTimeout)
	return acct, groups, nil
}
