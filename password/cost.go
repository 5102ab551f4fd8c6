package password

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"

	"github.com/veil-id/veil"
)

// bcryptB64 is bcrypt's own base64, to write salts and keys it accepts.
var bcryptB64 = base64.NewEncoding(bcryptAlphabet).WithPadding(base64.NoPadding)

// TimeVerification verifies a password once against a hash made of params
// (veil.HashParams of a stored hash) with a random salt and key, in the
// pool like any sign-in, and returns how long the verification took without
// its wait for the pool: what a stored account of that kind costs a sign-in.
// Parameters the hasher would not verify (malformed, beyond the bounds or
// the memory budget) cost what such an account costs: the decoy's work.
func (h *Hasher) TimeVerification(ctx context.Context, params string) (time.Duration, error) {
	mark := &veil.WorkMark{}
	ctx = veil.WithWorkMark(ctx, mark)
	veil.BeginAccountWork(ctx)
	// Unheld: the hold is derived from what this returns.
	if _, _, err := h.verifyPassword(ctx, syntheticHash(params), "veil-floor-calibration", 0); err != nil {
		return 0, err
	}
	return mark.Work(), nil
}

// CurrentHashParams returns veil.HashParams of the hashes HashPassword
// writes (and of the decoy every unknown identifier is verified against).
func (h *Hasher) CurrentHashParams() string {
	return veil.HashParams(encodeArgon2id(h.params, make([]byte, saltLen), make([]byte, keyLen)))
}

// syntheticHash returns a stored hash of the given parameters with a random
// salt and key of the lengths veil writes (a bcrypt hash's fixed ones).
func syntheticHash(params string) string {
	switch {
	case strings.HasPrefix(params, "$argon2id$"):
		salt, key := make([]byte, saltLen), make([]byte, keyLen)
		rand.Read(salt)
		rand.Read(key)
		return params + "$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key)
	case strings.HasPrefix(params, "$2"):
		salt, key := make([]byte, 16), make([]byte, 23)
		rand.Read(salt)
		rand.Read(key)
		return params + "$" + bcryptB64.EncodeToString(salt) + bcryptB64.EncodeToString(key)
	}
	return ""
}
