package ldap

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// Policy is what veil needs to know of a directory password policy
// (draft-behera-ldap-password-policy, OpenLDAP's ppolicy overlay).
type Policy struct {
	DN string
	// MaxFailure is pwdMaxFailure: the failed binds that lock an entry
	// when Lockout is on; 0 means no limit.
	MaxFailure int
	// Lockout is pwdLockout.
	Lockout bool
	// FailureCountInterval is pwdFailureCountInterval: how long a failure
	// counts; 0 means until the next successful bind.
	FailureCountInterval time.Duration
}

// locks reports whether failed binds can lock an entry under p.
func (p *Policy) locks() bool { return p != nil && p.Lockout && p.MaxFailure > 0 }

// policyRefresh is how often the policies are read again: they change
// rarely, and a sign-in must not wait for them.
const policyRefresh = 10 * time.Minute

// policyCache holds the password policies the service account may read.
type policyCache struct {
	defaultDN string // Config.PasswordPolicyDN, normalized; may be ""

	mu         sync.Mutex
	byDN       map[string]*Policy
	fallback   *Policy // for entries without a readable pwdPolicySubentry
	strictest  *Policy // the lockout policy with the fewest failures
	readAt     time.Time
	refreshing bool
	err        error
}

func newPolicyCache(defaultDN string) *policyCache {
	return &policyCache{defaultDN: normalizeDN(defaultDN)}
}

// normalizeDN gives one spelling of a DN for map keys; a DN that does not
// parse is kept as written, in lower case.
func normalizeDN(dn string) string {
	if dn == "" {
		return ""
	}
	if p, err := goldap.ParseDN(dn); err == nil {
		return strings.ToLower(p.String())
	}
	return strings.ToLower(dn)
}

// forEntry returns the policy of an entry with the given
// pwdPolicySubentry, or nil when none is known.
func (pc *policyCache) forEntry(subentry string) *Policy {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if subentry == "" {
		return pc.fallback
	}
	if p, ok := pc.byDN[normalizeDN(subentry)]; ok {
		return p
	}
	// A policy veil may not read: assume the strictest it knows.
	return pc.strictest
}

// maybeRefresh reads the policies again in the background when they are
// old.
func (pc *policyCache) maybeRefresh(s *Store) {
	pc.mu.Lock()
	stale := !pc.refreshing && time.Since(pc.readAt) > policyRefresh
	if stale {
		pc.refreshing = true
	}
	pc.mu.Unlock()
	if stale {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*s.cfg.Timeout+s.cfg.DialTimeout)
			defer cancel()
			pc.refresh(ctx, s)
		}()
	}
}

// refresh reads every password policy the service account can see.
func (pc *policyCache) refresh(ctx context.Context, s *Store) {
	byDN, err := s.readPolicies(ctx, pc.defaultDN)
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.refreshing, pc.readAt, pc.err = false, time.Now(), err
	if err != nil {
		return // keep what was read before
	}
	pc.byDN, pc.strictest = byDN, nil
	for _, p := range byDN {
		if p.locks() && (pc.strictest == nil || p.MaxFailure < pc.strictest.MaxFailure) {
			pc.strictest = p
		}
	}
	pc.fallback = pc.strictest
	if p, ok := byDN[pc.defaultDN]; ok {
		pc.fallback = p
	}
}

// readPolicies searches the directory's naming contexts for pwdPolicy
// entries, and reads defaultDN too in case it lies elsewhere.
func (s *Store) readPolicies(ctx context.Context, defaultDN string) (map[string]*Policy, error) {
	attrs := []string{"pwdMaxFailure", "pwdLockout", "pwdFailureCountInterval"}
	root := goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"namingContexts"}, nil)
	dse, err := s.searchEntries(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("ldap: reading the root DSE: %w", err)
	}
	var bases []string
	for _, e := range dse {
		bases = append(bases, e.GetEqualFoldAttributeValues("namingContexts")...)
	}
	byDN := map[string]*Policy{}
	for _, base := range bases {
		req := goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 100, 0, false,
			"(objectClass=pwdPolicy)", attrs, nil)
		found, err := s.searchEntries(ctx, req)
		if err != nil && err != errSizeLimit {
			return nil, fmt.Errorf("ldap: reading password policies under %s: %w", base, err)
		}
		for _, e := range found {
			p := parsePolicy(e)
			byDN[normalizeDN(p.DN)] = p
		}
	}
	if _, ok := byDN[defaultDN]; defaultDN != "" && !ok {
		req := goldap.NewSearchRequest(defaultDN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", attrs, nil)
		found, err := s.searchEntries(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("ldap: reading the password policy %s: %w", defaultDN, err)
		}
		for _, e := range found {
			byDN[defaultDN] = parsePolicy(e)
		}
	}
	return byDN, nil
}

func parsePolicy(e *goldap.Entry) *Policy {
	p := &Policy{DN: e.DN}
	p.MaxFailure, _ = strconv.Atoi(e.GetEqualFoldAttributeValue("pwdMaxFailure"))
	p.Lockout = strings.EqualFold(e.GetEqualFoldAttributeValue("pwdLockout"), "TRUE")
	secs, _ := strconv.Atoi(e.GetEqualFoldAttributeValue("pwdFailureCountInterval"))
	p.FailureCountInterval = time.Duration(secs) * time.Second
	return p
}

// LockoutPolicy returns the strictest policy that locks entries after
// failed binds, and whether veil could read one. err says why it could not
// read the policies, if it could not.
func (s *Store) LockoutPolicy() (p Policy, ok bool, err error) {
	pc := s.policy
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.strictest == nil {
		return Policy{}, false, pc.err
	}
	return *pc.strictest, true, pc.err
}

// spare reports whether veil must not bind as ent. A stranger's attempt
// may bring the entry's recent failures (pwdFailureTime) up to
// pwdMaxFailure − LockoutReserve, a trusted one up to pwdMaxFailure − 1:
// the failures in between are the person's, from her own browser, and no
// attempt through veil ever makes the one that locks. Failures older than
// the policy's interval no longer count, as they do not for the directory.
func (s *Store) spare(ent *entry, trusted bool) bool {
	p := s.policy.forEntry(ent.policyDN)
	if !p.locks() {
		return false
	}
	now := s.cfg.Now()
	recent := 0
	for _, t := range ent.failures {
		// A failure time that does not parse counts: erring on the side
		// of the entry.
		if t.IsZero() || p.FailureCountInterval == 0 || now.Sub(t) < p.FailureCountInterval {
			recent++
		}
	}
	reserve := s.cfg.LockoutReserve
	if trusted {
		reserve = 1
	}
	return recent+1+reserve > p.MaxFailure
}

// ReserveWarning returns what an operator should be told when the
// directory's pwdMaxFailure leaves strangers no bind at all under the
// lockout reserve (pwdMaxFailure ≤ reserve): then only browsers that hold a
// device cookie can sign in, and no browser can get one. "" otherwise.
func ReserveWarning(reserve int, p Policy) string {
	if !p.locks() || p.MaxFailure > reserve {
		return ""
	}
	return fmt.Sprintf("the directory's pwdMaxFailure (%d, policy %s) is not above ldap.lockout_reserve (%d): "+
		"veil's lockout guard never binds for a browser without a device cookie, so nobody can sign in from a new browser; "+
		"raise pwdMaxFailure to at least %d or lower the reserve", p.MaxFailure, p.DN, reserve, reserve+1)
}

// LockoutWarning returns what an operator should be told when veil's
// per-identifier throttle threshold — the failed sign-ins veil lets through
// for one identifier before it holds them back — would let attackers drive
// the directory into locking the entry (threshold ≥ pwdMaxFailure), and ""
// when it would not or when the directory does not lock. The lockout guard
// (Config.LockoutReserve) still spares entries either way; the throttle is
// what keeps attackers from getting that far.
func LockoutWarning(threshold int, p Policy) string {
	if !p.locks() || (threshold > 0 && threshold < p.MaxFailure) {
		return ""
	}
	what := fmt.Sprintf("%d", threshold)
	if threshold <= 0 {
		what = "unlimited"
	}
	return fmt.Sprintf("veil's per-identifier throttle threshold (%s) is not below the directory's pwdMaxFailure (%d, policy %s): "+
		"attackers could drive entries into the directory's lockout; veil's lockout guard stops binding short of it, "+
		"which holds sign-ins back instead; lower the throttle threshold below %d", what, p.MaxFailure, p.DN, p.MaxFailure)
}
