package veil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"
)

// calibrationDomain is a domain no store or directory can hold (.invalid
// is reserved, RFC 2606): a decoy sign-in there touches no entry's failure
// count. The local part is random, so that no cache remembers it.
const calibrationDomain = "@calibration.invalid"

// SignInCost is what the password check of one sign-in cost, without its
// waits in first-come-first-served queues.
type SignInCost struct {
	// Lookup is the time from the start of the check to the start of the
	// verification (veil.LookupDone); 0 for a checker without a separate
	// lookup, such as a directory's search and bind.
	Lookup time.Duration
	// Work is the whole check: the lookup and the verification, or a
	// directory's search and decoy bind.
	Work time.Duration
}

// TimeDecoySignIn runs the password check of a sign-in for an identifier
// nobody has, with a password nobody has, exactly as a sign-in's check runs
// — the store's lookup and the decoy verification, or a directory's search
// and decoy bind — and returns what it cost. It is the time floor's
// calibration: it asks the throttle nothing, counts nothing and audits
// nothing, and it has nothing to reveal, since there is no account.
func (s *Service) TimeDecoySignIn(ctx context.Context) (SignInCost, error) {
	var b [12]byte
	rand.Read(b[:])
	id, err := NormalizeIdentifier("veil-floor-" + hex.EncodeToString(b[:]) + calibrationDomain)
	if err != nil {
		return SignInCost{}, err
	}
	rand.Read(b[:])
	mark := NewWorkMark(0)
	ctx = WithWorkMark(ctx, mark)
	BeginAccountWork(ctx)
	if _, err := s.cfg.Checker.CheckPassword(ctx, PasswordAttempt{Identifier: id, Password: hex.EncodeToString(b[:])}); err != nil {
		return SignInCost{}, err
	}
	return SignInCost{Lookup: mark.Lookup(), Work: mark.Work()}, nil
}
