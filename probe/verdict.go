package probe

import (
	"fmt"
	"strconv"
	"strings"
)

// maxFailedShare is the share of failed answers, overall or within one
// class, above which a run cannot say whether the endpoint leaks: it has
// measured the throttle or the outage in front of it.
const maxFailedShare = 0.5

// failure names why an observation says nothing about the endpoint behind
// the throttle: "throttled" (429), "server error" (5xx), "no answer"
// (transport), "step failed" (a step before the request), or "" for a real
// answer.
func (s *Samples) failure(o Observation) string {
	status := s.sigs[chStatus][o.sig[chStatus]]
	if strings.HasPrefix(status, "error: step ") {
		return "step failed"
	}
	if o.Err || strings.HasPrefix(status, "error: ") {
		return "no answer"
	}
	code, _ := strconv.Atoi(status)
	switch {
	case code == 429:
		return "throttled"
	case code >= 500:
		return "server error"
	}
	return ""
}

// inconclusive says why a run cannot give a verdict, or "" when it can:
// most answers, or most of one class's, were failures. A throttle that
// counts per identifier answers the reused existing identifiers 429 and
// the fresh missing ones not, so such a run would even show a "leak" that
// is only the throttle.
func (s *Samples) inconclusive() string {
	var total, failed, throttled [2]int
	kinds := map[string]int{}
	for _, o := range s.Obs {
		total[o.Class]++
		if f := s.failure(o); f != "" {
			failed[o.Class]++
			kinds[f]++
			if f == "throttled" {
				throttled[o.Class]++
			}
		}
	}
	var what []string
	for _, k := range []string{"throttled", "server error", "no answer", "step failed"} {
		if kinds[k] > 0 {
			what = append(what, fmt.Sprintf("%d %s", kinds[k], k))
		}
	}
	all := total[0] + total[1]
	switch {
	case all == 0:
		return "no answers"
	case float64(failed[0]+failed[1]) > maxFailedShare*float64(all):
		return fmt.Sprintf("%d of %d answers were failures (%s)", failed[0]+failed[1], all, strings.Join(what, ", "))
	}
	for c := range total {
		if float64(failed[c]) > maxFailedShare*float64(total[c]) {
			return fmt.Sprintf("%d of %d answers for %s identifiers were failures (%s)", failed[c], total[c], Class(c), strings.Join(what, ", "))
		}
	}
	// On first contact each missing identifier is sent once and each
	// existing one many times, so only the existing ones can reach a
	// throttle that counts per identifier: 429s for them alone are the
	// measurement's doing, not something one request per address shows.
	if s.Probe.Target != nil && s.Probe.Target.OnFirstContact() &&
		float64(throttled[Exists]) > 0.05*float64(total[Exists]) && 2*throttled[Missing] < throttled[Exists] {
		return fmt.Sprintf("on first contact, %d of %d answers for the reused existing identifiers were throttled (429) and %d of %d for the fresh missing ones: a throttle counting per identifier",
			throttled[Exists], total[Exists], throttled[Missing], total[Missing])
	}
	return ""
}

// Remedies are what would make an inconclusive run conclusive.
var Remedies = []string{
	"more identifiers per class (--exists, --missing), so that a throttle counting per identifier sees fewer attempts on each",
	"send from a source address the target's throttle allow-lists",
	"run against a test deployment with a lenient throttle (for veil: turn the throttle.* challenges and blocks off in a config file given to veil serve --config; see README, veil probe, Inconclusive); lowering --rate does not help against a throttle that counts attempts",
}

// effects says what the run may have changed on the target, from what it
// sent: the moment an operator needs to know which accounts to clean up
// and which mails to expect.
func effects(t *Target, sent Sent) string {
	line := fmt.Sprintf("sent %d requests for existing identifiers, %d for missing ones, %d warm-up with throwaway identifiers; %d identifiers were new to the target",
		sent.Exists, sent.Missing, sent.Warmup, sent.Fresh)
	switch {
	case t.Preset == "login-code":
		return line + fmt.Sprintf("; up to %d sign-in code mails sent to the %d existing accounts", sent.Exists, len(t.Exists))
	case t.Preset == "account-email":
		return line + fmt.Sprintf("; up to %d notices sent to the %d existing accounts and %d confirmation links to the missing addresses", sent.Exists, len(t.Exists), sent.Missing)
	case t.Kind == KindSignup:
		return line + fmt.Sprintf("; up to %d accounts created (one per new address) and up to %d mails sent", sent.Fresh, sent.Exists+sent.Fresh)
	case t.Kind == KindRecover:
		return line + fmt.Sprintf("; up to %d recovery mails sent to the %d existing accounts", sent.Exists, len(t.Exists))
	case t.Kind == KindLogin:
		return line + fmt.Sprintf("; %d failed sign-ins counted against the %d existing accounts", sent.Exists, len(t.Exists))
	case t.OnFirstContact():
		return line + fmt.Sprintf("; up to %d new identifiers registered (accounts, invitations) and the mails that go with them", sent.Fresh)
	}
	return line + fmt.Sprintf("; %d requests on the %d existing accounts (failed sign-ins or mails, depending on the endpoint)", sent.Exists, len(t.Exists))
}
