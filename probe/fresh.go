package probe

import (
	"math/rand/v2"
	"strings"
)

// FreshMark in a missing identifier is replaced by random characters on
// every request, so that each request of the missing class carries an
// identifier the target has never seen: "probe-{{fresh}}@example.com".
const FreshMark = "{{fresh}}"

// OnFirstContact reports whether every missing-class request must use an
// identifier never sent before: set on the target, or implied by a
// {{fresh}} in a missing identifier.
func (t *Target) OnFirstContact() bool {
	if t.FirstContact {
		return true
	}
	for _, id := range t.Missing {
		if strings.Contains(id, FreshMark) {
			return true
		}
	}
	return false
}

// identifiers hands out the identifiers of one run: the measured ones and
// the warm-up's throwaway ones, none of them sent twice where that would
// change the answer. It counts what it handed out, for the report of what
// the run changed on the target. It is used by one goroutine.
type identifiers struct {
	t     *Target
	fresh bool
	used  map[string]bool
	sent  Sent
}

// Sent counts the requests of a run by kind.
type Sent struct {
	Exists  int `json:"exists"`  // for existing identifiers (measured)
	Missing int `json:"missing"` // for missing identifiers (measured)
	// Fresh is how many of the missing ones, and of the warm-up's, used an
	// identifier never sent before: on a sign-up, accounts possibly created.
	Fresh  int `json:"fresh"`
	Warmup int `json:"warmup"` // warm-up requests, each with a throwaway identifier
}

func newIdentifiers(t *Target) *identifiers {
	ids := &identifiers{t: t, fresh: t.OnFirstContact(), used: map[string]bool{}}
	for _, id := range append(append([]string(nil), t.Exists...), t.Missing...) {
		ids.used[id] = true
	}
	return ids
}

// exists returns the i-th measured identifier of the existing class.
func (ids *identifiers) exists(i int) string {
	ids.sent.Exists++
	return ids.t.Exists[i%len(ids.t.Exists)]
}

// missing returns the i-th measured identifier of the missing class: on a
// first-contact target one never sent before, shaped like a listed one.
func (ids *identifiers) missing(i int) string {
	ids.sent.Missing++
	pattern := ids.t.Missing[i%len(ids.t.Missing)]
	if !ids.fresh {
		return pattern
	}
	return ids.newFrom(pattern)
}

// throwaway returns a warm-up identifier: never one that is measured, so
// the warm-up cannot change how the target answers a measured request
// (a sign-up registers what it is sent).
func (ids *identifiers) throwaway(i int) string {
	ids.sent.Warmup++
	pattern := ids.t.Exists[i%len(ids.t.Exists)]
	if len(ids.t.Missing) > 0 && strings.Contains(ids.t.Missing[i%len(ids.t.Missing)], FreshMark) {
		pattern = ids.t.Missing[i%len(ids.t.Missing)]
	}
	return ids.newFrom(pattern)
}

// newFrom makes an identifier not handed out before from a pattern: its
// {{fresh}} replaced by random characters or, without one, a random local
// part of the same length, 8 at least (MissingFor), so that the request
// length stays close to that of the pattern.
func (ids *identifiers) newFrom(pattern string) string {
	for {
		var id string
		if strings.Contains(pattern, FreshMark) {
			id = strings.ReplaceAll(pattern, FreshMark, randomLetters(12))
		} else {
			id = MissingFor([]string{pattern})[0]
		}
		if !ids.used[id] {
			ids.used[id] = true
			ids.sent.Fresh++
			return id
		}
	}
}

func randomLetters(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return string(b)
}

// FreshIdentifiers is how many identifiers new to the target a probe will
// send: the warm-up's throwaway ones, and on a first-contact target one per
// missing-class request. Failed pairs in paired mode are retried and add
// to it.
func FreshIdentifiers(p Probe) int {
	o := p.Options
	warmup := o.Warmup
	if o.Pairs {
		warmup *= 2
	}
	if p.Target.OnFirstContact() {
		return warmup + o.N
	}
	return warmup
}
