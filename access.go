package veil

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
)

// Access rules say who may enter the apps behind a reverse proxy that asks
// forward-auth. The language is small on purpose: an ordered list of rules,
// each matching a host (exact, or *.example.com for every name under
// example.com) and a path prefix, and saying one of
//
//	bypass     anyone, signed in or not (no session is looked at)
//	signed_in  anyone signed in
//	group      anyone signed in who is in one of the named groups
//
// The first rule that matches decides. When none does, signed_in applies:
// the behaviour of forward-auth without rules.

// The access a rule gives.
const (
	AccessBypass   = "bypass"
	AccessSignedIn = "signed_in"
	AccessGroup    = "group"
)

// AccessRule is one rule.
type AccessRule struct {
	// Host is an exact host name or *.example.com; "" matches every host.
	Host string
	// Path is a path prefix matched on whole segments: "/admin" matches
	// /admin and /admin/x but not /administrator; a trailing slash
	// changes nothing; "" and "/" match every path.
	Path string
	// Access is AccessBypass, AccessSignedIn or AccessGroup.
	Access string
	// Groups are the groups of an AccessGroup rule: a member of any
	// enters.
	Groups []string
	// EmailHeader sends the sign-in address (Remote-Email) to the apps
	// this rule lets in. Off, they see only the opaque account ID.
	EmailHeader bool
}

// AccessRules is a checked, ordered rule list.
type AccessRules struct {
	rules []AccessRule
}

// NewAccessRules checks rules and normalizes their hosts, paths and groups.
// The error names the rule (from 1) and what is wrong with it.
func NewAccessRules(rules []AccessRule) (*AccessRules, error) {
	out := make([]AccessRule, len(rules))
	for i, r := range rules {
		n, err := normalizeRule(r)
		if err != nil {
			return nil, fmt.Errorf("rule %d: %w", i+1, err)
		}
		out[i] = n
	}
	return &AccessRules{rules: out}, nil
}

func normalizeRule(r AccessRule) (AccessRule, error) {
	r.Host = strings.ToLower(strings.TrimSpace(r.Host))
	if h, ok := strings.CutPrefix(r.Host, "*."); ok && !IsHostName(h) || !ok && r.Host != "" && !IsHostName(r.Host) {
		return r, fmt.Errorf("host %q is neither a host name nor *.domain (no port, no scheme)", r.Host)
	}
	if r.Path == "" {
		r.Path = "/"
	}
	if !strings.HasPrefix(r.Path, "/") || cleanPath(r.Path) != r.Path || strings.ContainsAny(r.Path, "%?#") {
		return r, fmt.Errorf("path %q is not a clean absolute path (starting with /, without . or .. segments, //, escapes or a query)", r.Path)
	}
	switch r.Access {
	case AccessBypass, AccessSignedIn:
		if len(r.Groups) > 0 {
			return r, fmt.Errorf("access = %q takes no groups; a rule with groups is a group rule", r.Access)
		}
	case AccessGroup:
		if len(r.Groups) == 0 {
			return r, fmt.Errorf("a group rule needs at least one group")
		}
		groups := make([]string, len(r.Groups))
		for i, g := range r.Groups {
			n, err := NormalizeGroupName(g)
			if err != nil {
				return r, fmt.Errorf("group %q: %s", g, ErrorMessage(err))
			}
			groups[i] = n
		}
		r.Groups = groups
	default:
		return r, fmt.Errorf("access must be %s, %s or %s, not %q", AccessBypass, AccessSignedIn, AccessGroup, r.Access)
	}
	if r.Access == AccessBypass && r.EmailHeader {
		return r, fmt.Errorf("a bypass rule looks at no session, so it has no address to send")
	}
	return r, nil
}

// IsHostName reports whether h is a lower-case DNS name of letters,
// digits and inner hyphens: at least one label, none empty.
func IsHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Len returns the number of rules.
func (rs *AccessRules) Len() int {
	if rs == nil {
		return 0
	}
	return len(rs.rules)
}

// Rule returns rule i (from 0).
func (rs *AccessRules) Rule(i int) AccessRule { return rs.rules[i] }

// AccessTarget is where a request is going, as the proxy said.
type AccessTarget struct {
	Host string // lower case, without port or trailing dot
	Path string // percent-decoded and cleaned
	// Known is false when veil does not know the URL (the request did not
	// come from a trusted proxy, or named no host).
	Known bool
}

// ParseAccessTarget reads the URL a proxy names. The path is decoded and
// cleaned the way an upstream app would read it, so "/public/../admin",
// "/public/%2e%2e/admin" and "/public\..\admin" all match rules as /admin;
// a URL that does not parse is not Known.
func ParseAccessTarget(raw string) AccessTarget {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Host == "" {
		return AccessTarget{}
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	p, err := url.PathUnescape(u.EscapedPath())
	if err != nil || host == "" {
		return AccessTarget{}
	}
	return AccessTarget{Host: host, Path: cleanPath(p), Known: true}
}

// cleanPath resolves dot segments, backslashes (some servers read them as
// slashes) and repeated slashes, and keeps a trailing slash.
func cleanPath(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// matches reports whether rule r covers t.
func (r AccessRule) matches(t AccessTarget) (hostOK, pathOK bool) {
	switch h, wild := strings.CutPrefix(r.Host, "*."); {
	case r.Host == "":
		hostOK = true
	case wild:
		hostOK = strings.HasSuffix(t.Host, "."+h)
	default:
		hostOK = t.Host == r.Host
	}
	prefix := strings.TrimSuffix(r.Path, "/")
	pathOK = prefix == "" || t.Path == prefix || strings.HasPrefix(t.Path, prefix+"/")
	return hostOK, pathOK
}

// The verdicts of a decision.
const (
	VerdictAllow     = "allow"     // let the request through
	VerdictSignIn    = "sign_in"   // not signed in: send to sign in
	VerdictForbidden = "forbidden" // signed in, but not let in (403)
)

// AccessDecision is what the rules say about one request.
type AccessDecision struct {
	Verdict string
	// Rule is the index of the deciding rule, -1 for the default.
	Rule   int
	Access string
	// Identity says to send the account's headers (not for bypass).
	Identity    bool
	EmailHeader bool
	// Reason says why, for operators (veil rules test); never for the
	// public answer.
	Reason string
}

// accessUnknownURL is what Match gives when rules exist but veil does not
// know the URL: no rule can be chosen, so nobody is let in.
const accessUnknownURL = "unknown_url"

// Match returns the rule that covers t: its index and the rule, or -1 and
// the default (signed_in) when none does. It looks at no session, so a
// bypass needs no lookup. With rules and an unknown URL the rule it
// returns lets nobody in.
func (rs *AccessRules) Match(t AccessTarget) (int, AccessRule) {
	if rs.Len() > 0 && !t.Known {
		return -1, AccessRule{Access: accessUnknownURL}
	}
	for i := 0; i < rs.Len(); i++ {
		if h, p := rs.rules[i].matches(t); h && p {
			return i, rs.rules[i]
		}
	}
	return -1, AccessRule{Access: AccessSignedIn}
}

// Decide applies the rules to a request for t by someone signed in or not,
// who is in groups (sorted, as AccountGroups returns them).
func (rs *AccessRules) Decide(t AccessTarget, signedIn bool, groups []string) AccessDecision {
	i, r := rs.Match(t)
	d := AccessDecision{Rule: i, Access: r.Access, EmailHeader: r.EmailHeader}
	switch {
	case r.Access == AccessBypass:
		d.Verdict, d.Reason = VerdictAllow, "bypass: anyone enters"
	case !signedIn:
		d.Verdict, d.Reason = VerdictSignIn, "not signed in: sent to sign in"
	case r.Access == accessUnknownURL:
		d.Verdict, d.Reason = VerdictForbidden, "veil does not know the URL (no X-Original-URL or X-Forwarded-Host from a trusted proxy), so no rule applies and nobody is let in: 403"
	case r.Access == AccessSignedIn:
		d.Verdict, d.Identity, d.Reason = VerdictAllow, true, "signed_in: signed in, enters"
	default:
		for _, g := range r.Groups {
			if _, ok := slices.BinarySearch(groups, g); ok {
				d.Verdict, d.Identity, d.Reason = VerdictAllow, true, "group: in "+g+", enters"
				return d
			}
		}
		d.Verdict, d.Reason = VerdictForbidden, "group: in none of "+strings.Join(r.Groups, ", ")+": 403"
	}
	return d
}

// String writes a rule as it stands in the configuration.
func (r AccessRule) String() string {
	var b strings.Builder
	host := r.Host
	if host == "" {
		host = "(any)"
	}
	fmt.Fprintf(&b, "host %s, path %s, ", host, r.Path)
	if r.Access == AccessGroup {
		fmt.Fprintf(&b, "group %s", strings.Join(r.Groups, ", "))
	} else {
		b.WriteString(r.Access)
	}
	if r.EmailHeader {
		b.WriteString(", email_header")
	}
	return b.String()
}

// Explain says, for operators, why each rule before the deciding one did
// not match t: one line per rule.
func (rs *AccessRules) Explain(t AccessTarget) []string {
	var lines []string
	if rs.Len() > 0 && !t.Known {
		return []string{"the URL is unknown: no rule applies"}
	}
	for i := 0; i < rs.Len(); i++ {
		r := rs.rules[i]
		h, p := r.matches(t)
		switch {
		case h && p:
			return append(lines, fmt.Sprintf("rule %d (%s): matches", i+1, r))
		case !h:
			lines = append(lines, fmt.Sprintf("rule %d (%s): not this host", i+1, r))
		default:
			lines = append(lines, fmt.Sprintf("rule %d (%s): not this path", i+1, r))
		}
	}
	return append(lines, "no rule matches: signed_in applies")
}
