package password

import "time"

// SetVerificationHold sets the least time a verification keeps its slot in
// the pool (0: none, the default), for the verifications that start from
// now.
//
// While stored hashes of different costs exist (an import of bcrypt or of
// older argon2id parameters), the time floor covers the slowest one for
// the sign-in that verifies it, but not for the sign-ins queued behind it:
// the pool serves its waiters first come, first served, so a slow hash
// would hand its slot on later than a current one, and an attacker who
// fills the pool would read in his own sign-ins' waits whether the one
// ahead named an imported account. Holding every verification's slot for
// the slowest cost hands every slot on after the same time. It costs
// throughput while the slower hashes remain — each slot serves one
// verification per hold — which is what an import costs until its hashes
// are rehashed at sign-in.
func (h *Hasher) SetVerificationHold(d time.Duration) { h.hold.Store(int64(max(d, 0))) }

// VerificationHold returns the verification hold now.
func (h *Hasher) VerificationHold() time.Duration { return time.Duration(h.hold.Load()) }

// releaseAfter gives mem KiB back to the pool, but not before until. The
// wait does not end with the request: a client that hangs up must not
// hand its slot on sooner after a fast hash than after a slow one, which
// runs to its end regardless.
func (h *Hasher) releaseAfter(mem uint64, until time.Time) {
	if wait := time.Until(until); wait > 0 {
		time.Sleep(wait)
	}
	h.release(mem)
}
