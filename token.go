package veil

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// Token purposes. A token is good for exactly one.
const (
	TokenSignUp = "signup_confirm"
	TokenReset  = "password_reset"
)

// Token is a single-use secret sent by mail. The store keeps only its
// SHA-256; the token itself exists in the mail alone.
type Token struct {
	Hash      []byte
	Purpose   string
	AccountID string // for resets
	SignUpID  string // for sign-up confirmations
	CreatedAt time.Time
	ExpiresAt time.Time
}

// TokenStore keeps mailed tokens.
type TokenStore interface {
	// CreateToken stores t; ECONFLICT if a token has its hash already
	// (spent passkey challenges rely on it: passkeychallenge.go).
	CreateToken(ctx context.Context, t *Token) error
	// ConsumeToken marks the token with this hash and purpose used and
	// returns it, atomically, so that it works once; ENOTFOUND if there is
	// none, or it was used, or it expired by now.
	ConsumeToken(ctx context.Context, hash []byte, purpose string, now time.Time) (*Token, error)
	// DeleteAccountTokens removes the unused tokens of an account for one
	// purpose, so a newer link or a password change voids older ones.
	DeleteAccountTokens(ctx context.Context, accountID, purpose string) error
}

const tokenBytes = 32

// errInvalidToken is the one answer to a bad, used or expired token.
var errInvalidToken = &Error{Code: EINVALIDTOKEN, Message: "This link is invalid or has expired. Please ask for a new one."}

// HashToken returns the stored form (SHA-256) of any token veil hands
// out: a session's ID, a mailed link's token, a passkey challenge.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// newToken returns a fresh token and its stored form.
func newToken(purpose string, now time.Time, ttl time.Duration) (string, *Token) {
	var b [tokenBytes]byte
	rand.Read(b[:])
	s := base64.RawURLEncoding.EncodeToString(b[:])
	return s, &Token{Hash: HashToken(s), Purpose: purpose, CreatedAt: now, ExpiresAt: now.Add(ttl)}
}

// ParseToken checks the shape of a token from a link and returns its stored
// form; errInvalidToken if it cannot be one of ours. It never touches a
// store, so garbage is refused at no cost.
func ParseToken(s string) ([]byte, error) {
	if !canonicalToken(s) {
		return nil, errInvalidToken
	}
	return HashToken(s), nil
}

// canonicalToken reports whether s is exactly the base64url encoding of
// tokenBytes bytes. Go's decoder skips \r and \n, so decoding alone would
// let other strings through; they could never match, but garbage should not
// reach a store.
func canonicalToken(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == tokenBytes && base64.RawURLEncoding.EncodeToString(b) == s
}
