package veil

import (
	"context"
	"unicode/utf8"
)

// PasswordHasher hashes passwords under the current policy and verifies them
// against stored hashes of any supported algorithm.
type PasswordHasher interface {
	// HashPassword returns the PHC string of password under the current
	// policy. EOVERLOADED when the bounded pool is full.
	HashPassword(ctx context.Context, password string) (string, error)
	// VerifyPassword reports whether password matches the stored hash and
	// whether the hash should be replaced because the policy has changed.
	// A malformed stored hash is a non-match, never a shortcut: it costs the
	// work of a current-policy verification. EOVERLOADED when the pool is full.
	VerifyPassword(ctx context.Context, encoded, password string) (match, stale bool, err error)
}

// Password length rules for setting a password (NIST SP 800-63B: at least 8,
// allow long passphrases). Counted in characters, not bytes.
const (
	MinPasswordChars = 8
	MaxPasswordChars = 1024
)

// CheckNewPassword checks a password that is about to be set.
func CheckNewPassword(password string) error {
	if err := CheckPassword(password); err != nil {
		return err
	}
	n := utf8.RuneCountInString(password)
	if n < MinPasswordChars {
		return Errorf(EINVALID, "The password must be at least %d characters long.", MinPasswordChars)
	}
	if n > MaxPasswordChars {
		return Errorf(EINVALID, "The password must be at most %d characters long.", MaxPasswordChars)
	}
	if IsCommonPassword(password) {
		return Errorf(EINVALID, "This password is too common: it is among the first ones attackers try. Please choose another.")
	}
	return nil
}
