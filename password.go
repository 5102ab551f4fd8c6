package veil

import (
	"context"
	_ "embed"
	"strings"
	"sync"
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

// MaxPasswordBytes bounds any password a caller sends, at sign-in too:
// longer is not a password, it is a denial of service on the hash. It is
// syntax: checking it never depends on stored data.
const MaxPasswordBytes = 4096

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

// CheckPassword checks the syntax of a password presented at sign-in: present,
// not longer than MaxPasswordBytes, valid UTF-8 without control characters.
// It does not judge strength; that is for setting a password.
func CheckPassword(password string) error {
	if password == "" {
		return Errorf(EINVALID, "The password is required.")
	}
	return checkText("password", password, MaxPasswordBytes)
}

//go:embed commonpasswords.txt
var commonPasswordsText string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 12000)
	for _, line := range strings.Split(commonPasswordsText, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			m[line] = struct{}{}
		}
	}
	return m
})

// IsCommonPassword reports whether password (in any case) is on the list
// of common passwords veil refuses, as NIST SP 800-63B asks.
func IsCommonPassword(password string) bool {
	_, ok := commonPasswords()[strings.ToLower(password)]
	return ok
}
