package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/veil-id/veil"
)

// maxIdentityCacheTTL bounds forward_auth.cache_ttl: past it, a sign-out
// would be seen too late to call it one.
const maxIdentityCacheTTL = time.Minute

// accessRules checks forward_auth.rules and returns them for the core.
func (c *Config) accessRules() (*veil.AccessRules, error) {
	if ttl := time.Duration(c.ForwardAuth.CacheTTL); ttl < 0 || ttl > maxIdentityCacheTTL {
		return nil, fmt.Errorf("forward_auth.cache_ttl must be between 0s (off) and %s: it is how late a sign-out is seen elsewhere", maxIdentityCacheTTL)
	}
	rules := make([]veil.AccessRule, len(c.ForwardAuth.Rules))
	for i, rc := range c.ForwardAuth.Rules {
		access := rc.Access
		switch {
		case access == "" && len(rc.Group) > 0:
			access = veil.AccessGroup
		case access == "":
			return nil, fmt.Errorf("forward_auth.rules[%d]: say access = \"bypass\" or \"signed_in\", or group = [...]", i+1)
		case access == veil.AccessGroup:
			return nil, fmt.Errorf("forward_auth.rules[%d]: write group = [...] instead of access = \"group\"", i+1)
		}
		rules[i] = veil.AccessRule{Host: rc.Host, Path: rc.Path, Access: access, Groups: rc.Group, EmailHeader: rc.EmailHeader}
	}
	r, err := veil.NewAccessRules(rules)
	if err != nil {
		return nil, fmt.Errorf("forward_auth.rules: %w", err)
	}
	return r, nil
}

const rulesUsage = `usage: veil rules test [flags] URL [EMAIL|ID]

  test URL [EMAIL|ID]   say which of forward_auth.rules decides a request for
                        URL, and what it answers to someone signed out and,
                        given an account, to that account

An operator's command: it says whether an account exists and which groups
it is in, which forward-auth never tells anyone.`

func runRules(ctx context.Context, m *Main, args []string) error {
	if _, err := m.subcommand("rules", rulesUsage, args, "test"); err != nil {
		return err
	}
	fs, cf := m.flagSet("veil rules test", false)
	fs.synopsis = "veil rules test [flags] URL [EMAIL|ID]"
	fs.summary = "say which rule decides a request for URL, for someone signed out and for an account"
	fs.minArgs, fs.maxArgs = 1, 2
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := cf.load(m.Getenv)
	if err != nil {
		return err
	}
	rules, err := cfg.accessRules()
	if err != nil {
		return err
	}
	target := veil.ParseAccessTarget(fs.Arg(0))
	if !target.Known {
		return usageErrorf("%q is not an absolute URL with a host", fs.Arg(0))
	}
	fmt.Fprintf(m.Stdout, "URL: host %s, path %s\n", target.Host, target.Path)
	for _, line := range rules.Explain(target) {
		fmt.Fprintln(m.Stdout, "  "+line)
	}
	printDecision(m, "signed out", rules.Decide(target, false, nil))
	if fs.NArg() < 2 {
		return nil
	}
	return m.withExistingApp(ctx, cf, func(a *app) error {
		acct, err := a.service.FindAccount(ctx, fs.Arg(1))
		if err != nil {
			return operatorError(err)
		}
		groups, err := a.service.AccountGroups(ctx, acct.ID)
		if err != nil {
			return err
		}
		who := fmt.Sprintf("%s (%s), groups: %s", acct.Email, acct.ID, strings.Join(groups, ", "))
		if len(groups) == 0 {
			who = fmt.Sprintf("%s (%s), in no group", acct.Email, acct.ID)
		}
		if acct.Disabled {
			who += ", disabled: has no session, so is treated as signed out"
			printDecision(m, who, rules.Decide(target, false, nil))
			return nil
		}
		printDecision(m, who, rules.Decide(target, true, groups))
		return nil
	})
}

// printDecision prints the answer forward-auth gives and why.
func printDecision(m *Main, who string, d veil.AccessDecision) {
	answer := map[string]string{
		veil.VerdictAllow:     "200, let in",
		veil.VerdictSignIn:    "sent to sign in (302 for a browser, 401 for an API client)",
		veil.VerdictForbidden: "403, not let in",
	}[d.Verdict]
	rule := "the default (signed_in)"
	if d.Rule >= 0 {
		rule = fmt.Sprintf("rule %d", d.Rule+1)
	}
	fmt.Fprintf(m.Stdout, "%s: %s by %s: %s\n", who, answer, rule, d.Reason)
	if d.Identity {
		headers := "Remote-User, Remote-Name, Remote-Groups"
		if d.EmailHeader {
			headers += ", Remote-Email"
		}
		fmt.Fprintf(m.Stdout, "  headers to the app: %s\n", headers)
	}
}
