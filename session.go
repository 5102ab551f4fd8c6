package veil

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"
)

// Session is a signed-in browser or client. Its token is given to the client
// once; the store keeps only the token's SHA-256, so a copy of the database
// cannot be replayed as cookies.
type Session struct {
	IDHash     []byte // SHA-256 of the token
	AccountID  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // the absolute timeout
	ClientAddr string
	UserAgent  string
}

// SessionStore keeps sessions.
type SessionStore interface {
	// CreateSession stores s.
	CreateSession(ctx context.Context, s *Session) error
	// FindSession returns the session whose token hashes to idHash, or
	// ENOTFOUND. It does not judge expiry.
	FindSession(ctx context.Context, idHash []byte) (*Session, error)
	// TouchSession records that the session was used at t; no error if the
	// session is gone.
	TouchSession(ctx context.Context, idHash []byte, t time.Time) error
	// DeleteSession removes one session; no error if it is gone.
	DeleteSession(ctx context.Context, idHash []byte) error
	// DeleteAccountSessions removes every session of an account and returns
	// how many there were.
	DeleteAccountSessions(ctx context.Context, accountID string) (int, error)
	// ListSessions returns the sessions of one account, or of every account
	// when accountID is "", newest first.
	ListSessions(ctx context.Context, accountID string) ([]*Session, error)
	// DeleteExpiredSessions removes sessions whose absolute expiry is before
	// now or that were last seen before idleBefore, and returns how many.
	DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int, error)
}

// SessionPolicy says how long sessions live.
type SessionPolicy struct {
	IdleTimeout     time.Duration // since last use
	AbsoluteTimeout time.Duration // since sign-in, whatever the use
}

// DefaultSessionPolicy follows OWASP's session management guidance for an
// ordinary application: a day of idleness, a month at most.
var DefaultSessionPolicy = SessionPolicy{IdleTimeout: 24 * time.Hour, AbsoluteTimeout: 30 * 24 * time.Hour}

// touchInterval limits how often a session's last use is written: a write per
// request would make every page view a database write.
const touchInterval = time.Minute

const sessionTokenBytes = 32

// NewSessionToken returns a fresh token for a client and the hash to store.
func NewSessionToken() (token string, idHash []byte) {
	var b [sessionTokenBytes]byte
	rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token)
}

// validSessionToken reports whether token has the shape NewSessionToken
// gives, so garbage cookies never reach the store.
func validSessionToken(token string) bool { return canonicalToken(token) }
