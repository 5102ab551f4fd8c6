package veil

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// Service runs the account flows. It is the only code that knows whether an
// account exists.
type Service struct {
	accounts AccountStore
	sessions SessionStore
	hasher   PasswordHasher
	checker  PasswordChecker
	auditor  Auditor
	key      IdentifierKey
	clock    Clock
	policy   SessionPolicy
}

// ServiceConfig holds what a Service needs.
type ServiceConfig struct {
	Accounts AccountStore
	Sessions SessionStore
	Hasher   PasswordHasher
	// Checker checks sign-in passwords; nil means the hashes in Accounts,
	// verified by Hasher. An external directory brings its own.
	Checker       PasswordChecker
	Auditor       Auditor       // nil: events are dropped
	Key           IdentifierKey // keys identifier hashes in the audit log
	Clock         Clock         // nil: SystemClock
	SessionPolicy SessionPolicy // zero: DefaultSessionPolicy
}

// NewService checks cfg and, for the local checker, computes the decoy hash
// under the hasher's current policy.
func NewService(ctx context.Context, cfg ServiceConfig) (*Service, error) {
	if cfg.Accounts == nil || cfg.Sessions == nil || cfg.Hasher == nil {
		return nil, errors.New("veil: NewService needs Accounts, Sessions and Hasher")
	}
	if len(cfg.Key) < 16 {
		return nil, errors.New("veil: NewService needs an identifier key of at least 16 bytes")
	}
	s := &Service{
		accounts: cfg.Accounts,
		sessions: cfg.Sessions,
		hasher:   cfg.Hasher,
		checker:  cfg.Checker,
		auditor:  cfg.Auditor,
		key:      cfg.Key,
		clock:    cfg.Clock,
		policy:   cfg.SessionPolicy,
	}
	if s.auditor == nil {
		s.auditor = Auditors(nil)
	}
	if s.clock == nil {
		s.clock = SystemClock{}
	}
	if s.policy == (SessionPolicy{}) {
		s.policy = DefaultSessionPolicy
	}
	if s.checker == nil {
		var pw [24]byte
		rand.Read(pw[:])
		decoy, err := s.hasher.HashPassword(ctx, base64.RawStdEncoding.EncodeToString(pw[:]))
		if err != nil {
			return nil, fmt.Errorf("veil: computing the decoy hash: %w", err)
		}
		s.checker = &localChecker{accounts: s.accounts, hasher: s.hasher, decoyHash: decoy}
	}
	return s, nil
}
