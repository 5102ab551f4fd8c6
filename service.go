package veil

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Service runs the account flows. It is the only code that knows whether an
// account exists.
type Service struct {
	// cfg is the config NewService was given, with its defaults filled in.
	cfg    ServiceConfig
	shapes shapeCache
	// elsewhere refuses sign-up and recovery (ServiceConfig.ManagedElsewhere).
	elsewhere error
	wake      chan struct{} // a job was queued by this process
	// identities caches forward-auth's answers (identity_cache.go).
	identities *identityCache
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
	// Throttle holds back repeated attempts; nil admits everything.
	Throttle Throttle
	// Factors keeps second factors, sealed under FactorKey; nil turns them
	// off (see factors.go).
	Factors   FactorStore
	FactorKey FactorKey
	// Passkeys keeps passkeys and Ceremonies runs WebAuthn; both, with
	// Factors and Tokens, turn passkeys on (passkeys.go).
	Passkeys   PasskeyStore
	Ceremonies PasskeyCeremonies

	// Outbox, SignUps and Tokens enable sign-up and recovery; all or none.
	Outbox     OutboxStore
	SignUps    SignUpStore
	Tokens     TokenStore
	MailPolicy MailPolicy // zero fields: DefaultMailPolicy's
	// ManagedElsewhere, when not "", says where accounts are managed (a
	// read-only directory): every sign-up and recovery request with valid
	// input is refused with it, before any work, whatever the address.
	ManagedElsewhere string
	// Groups tells which groups accounts are in, for the access rules;
	// a GroupStore also lets operators change them. nil: none.
	Groups GroupReader
	// IdentityCacheTTL is how long forward-auth may answer a valid
	// session from memory; 0 turns the cache off (identity_cache.go).
	IdentityCacheTTL time.Duration
	// Settings enables the flows that let people manage their own
	// accounts (name, password, address, deletion, sign-in codes); they
	// need the mail flows too.
	Settings AccountSettingsStore
	// RecentSignIn is how long after its sign-in a session may delete its
	// account without the password (DeleteOwnAccount); 0: never, the
	// password is always asked for.
	RecentSignIn time.Duration
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
	if (cfg.Outbox == nil) != (cfg.SignUps == nil) || (cfg.Outbox == nil) != (cfg.Tokens == nil) {
		return nil, errors.New("veil: NewService needs Outbox, SignUps and Tokens together, or none")
	}
	if cfg.Factors != nil && len(cfg.FactorKey) != FactorKeySize {
		return nil, errors.New("veil: NewService needs a factor key of 32 bytes with Factors")
	}
	if cfg.Ceremonies != nil && (cfg.Factors == nil || cfg.Passkeys == nil || cfg.Tokens == nil) {
		return nil, errors.New("veil: NewService needs Factors, Passkeys and Tokens with Ceremonies")
	}
	if cfg.Settings != nil && cfg.Outbox == nil {
		return nil, errors.New("veil: NewService needs Outbox, SignUps and Tokens for Settings")
	}
	if cfg.Auditor == nil {
		cfg.Auditor = Auditors(nil)
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Throttle == nil {
		cfg.Throttle = noThrottle{}
	}
	if cfg.SessionPolicy == (SessionPolicy{}) {
		cfg.SessionPolicy = DefaultSessionPolicy
	}
	cfg.MailPolicy = withMailDefaults(cfg.MailPolicy)
	cfg.RecentSignIn = max(cfg.RecentSignIn, 0)
	if cfg.Checker == nil {
		var err error
		if cfg.Checker, err = NewLocalChecker(ctx, cfg.Accounts, cfg.Hasher); err != nil {
			return nil, err
		}
	}
	s := &Service{cfg: cfg, wake: make(chan struct{}, 1), identities: newIdentityCache(cfg.IdentityCacheTTL)}
	if cfg.ManagedElsewhere != "" {
		s.elsewhere = &Error{Code: EINVALID, Message: cfg.ManagedElsewhere}
	}
	return s, nil
}

// NewLocalChecker returns the PasswordChecker of accounts whose hashes are
// in accounts, verified by hasher, with a decoy hash under the hasher's
// current policy for identifiers that have none. NewService makes one when
// its config names no Checker.
func NewLocalChecker(ctx context.Context, accounts AccountStore, hasher PasswordHasher) (PasswordChecker, error) {
	var pw [24]byte
	rand.Read(pw[:])
	decoy, err := hasher.HashPassword(ctx, base64.RawStdEncoding.EncodeToString(pw[:]))
	if err != nil {
		return nil, fmt.Errorf("veil: computing the decoy hash: %w", err)
	}
	return &localChecker{accounts: accounts, hasher: hasher, decoyHash: decoy}, nil
}

func withMailDefaults(p MailPolicy) MailPolicy {
	d := DefaultMailPolicy
	if p.BaseURL != "" {
		d.BaseURL = strings.TrimRight(p.BaseURL, "/")
	}
	if p.SiteName != "" {
		d.SiteName = p.SiteName
	}
	d.SignUpTTL = cmpOr(p.SignUpTTL, d.SignUpTTL)
	d.ResetTTL = cmpOr(p.ResetTTL, d.ResetTTL)
	d.NotifyUnknown = p.NotifyUnknown
	d.LoginCodeSignUp = p.LoginCodeSignUp
	return d
}
