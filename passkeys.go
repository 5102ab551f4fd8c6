package veil

import (
	"cmp"
	"context"
	"time"
)

// Token purposes of passkey ceremonies. A registration's challenge is
// stored by its options and spent by its finish step (only signed-in
// accounts ask for one). A sign-in's challenge is stored by nobody — it is
// signed (passkeyChallenge), since anyone may ask for sign-in options —
// and its finish step records it spent, so that an assertion works once.
const (
	TokenPasskeySpent    = "passkey_login_spent"
	TokenPasskeyRegister = "passkey_register"
)

// PasskeyChallengeTTL is how long a passkey ceremony may take.
const PasskeyChallengeTTL = 5 * time.Minute

// Passkey is a WebAuthn credential registered to an account.
type Passkey struct {
	ID           string // random, for the security page
	AccountID    string
	CredentialID []byte
	Name         string
	// Credential is the ceremony adapter's record of the credential (its
	// public key and counter): opaque here, nothing secret.
	Credential []byte
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used
}

// PasskeyShape is what decoys copy from a real account: the lengths of its
// credential IDs, in order.
type PasskeyShape struct {
	AccountID string
	Lengths   []int
}

// PasskeyStore keeps passkeys, keyed by account ID (like FactorStore).
type PasskeyStore interface {
	// CreatePasskey stores p; ECONFLICT if its credential ID is taken.
	CreatePasskey(ctx context.Context, p *Passkey) error
	// ListPasskeys returns an account's passkeys, oldest first.
	ListPasskeys(ctx context.Context, accountID string) ([]*Passkey, error)
	// FindPasskeyByCredentialID returns the passkey with this credential
	// ID, or ENOTFOUND.
	FindPasskeyByCredentialID(ctx context.Context, credentialID []byte) (*Passkey, error)
	// UpdatePasskeyUse stores the credential record after a use and when.
	UpdatePasskeyUse(ctx context.Context, id string, credential []byte, at time.Time) error
	// DeletePasskey removes the account's passkey id; ENOTFOUND if the
	// account has none by that ID.
	DeletePasskey(ctx context.Context, accountID, id string) error
	// PasskeyShapes returns the shapes of at most limit accounts that have
	// passkeys, ordered by account ID.
	PasskeyShapes(ctx context.Context, limit int) ([]PasskeyShape, error)
}

// PasskeyUser is an account as an authenticator sees it.
type PasskeyUser struct {
	AccountID   string // the user handle
	Name        string // the sign-in address, shown by the authenticator
	DisplayName string
}

// PasskeyAssertion is a parsed answer of navigator.credentials.get().
type PasskeyAssertion struct {
	CredentialID []byte
	UserHandle   []byte
	Challenge    string // as the client data carries it
	Parsed       any    // the adapter's own parse, for VerifyAssertion
}

// PasskeyCeremonies builds WebAuthn options and verifies what browsers
// answer (package passkey, over go-webauthn). Options are JSON as
// navigator.credentials takes them ({"publicKey": ...}).
type PasskeyCeremonies interface {
	// LoginOptions returns request options allowing exactly the
	// credential IDs in allow (none: discoverable), with challenge. The
	// options of two allow lists of equal lengths differ only in the IDs
	// and the challenge.
	LoginOptions(allow [][]byte, challenge []byte) (options []byte, err error)
	// ParseAssertion parses an assertion; EINVALID if it is not one.
	ParseAssertion(body []byte) (*PasskeyAssertion, error)
	// VerifyAssertion checks a's signature, origin and challenge against
	// the stored passkey and returns its updated record; EUNAUTHORIZED if
	// it does not verify.
	VerifyAssertion(a *PasskeyAssertion, pk *Passkey, userVerification bool) ([]byte, error)
	// RegistrationOptions returns creation options for a discoverable
	// credential of u, excluding the credential IDs it has.
	RegistrationOptions(u PasskeyUser, exclude [][]byte) (options []byte, challenge string, err error)
	// RegistrationChallenge returns the challenge a registration answers;
	// EINVALID if body is not a registration.
	RegistrationChallenge(body []byte) (string, error)
	// VerifyRegistration checks a registration against challenge and
	// returns the new credential's ID and record; EINVALID if it does not
	// verify.
	VerifyRegistration(body []byte, challenge string, u PasskeyUser) (credentialID, credential []byte, err error)
}

var (
	errPasskeysOff   = &Error{Code: EINVALID, Message: "Passkeys are not enabled on this server."}
	errPasskeyFailed = &Error{Code: EUNAUTHORIZED, Message: "The passkey did not sign you in."}
	// errPasskeyFactorFailed is errPasskeyFailed as a second factor.
	errPasskeyFactorFailed = &Error{Code: EINVALIDCODE, Message: errPasskeyFailed.Message}
	errPasskeyExpired      = &Error{Code: EINVALID, Message: "This passkey registration has expired. Please start again."}
)

// PasskeysEnabled reports whether passkeys are on.
func (s *Service) PasskeysEnabled() bool { return s.cfg.Ceremonies != nil }

func (s *Service) passkeyUser(acct *Account) PasskeyUser {
	return PasskeyUser{AccountID: acct.ID, Name: acct.Email.String(), DisplayName: cmp.Or(acct.DisplayName, acct.Email.String())}
}

// storeChallenge keeps a ceremony's challenge until its finish step
// spends it.
func (s *Service) storeChallenge(ctx context.Context, challenge, purpose, accountID string) error {
	now := s.cfg.Clock.Now()
	t := &Token{Hash: HashToken(challenge), Purpose: purpose, AccountID: accountID, CreatedAt: now, ExpiresAt: now.Add(PasskeyChallengeTTL)}
	if err := s.cfg.Tokens.CreateToken(ctx, t); err != nil {
		return unavailable("storing a passkey challenge", err)
	}
	return nil
}

// BeginPasskeyRegistration returns the options to register a new passkey
// for a signed-in account.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, acct *Account) ([]byte, error) {
	if s.cfg.Ceremonies == nil {
		return nil, errPasskeysOff
	}
	keys, err := s.cfg.Passkeys.ListPasskeys(ctx, acct.ID)
	if err != nil {
		return nil, unavailable("listing passkeys", err)
	}
	exclude := make([][]byte, len(keys))
	for i, k := range keys {
		exclude[i] = k.CredentialID
	}
	opts, challenge, err := s.cfg.Ceremonies.RegistrationOptions(s.passkeyUser(acct), exclude)
	if err != nil {
		return nil, err
	}
	return opts, s.storeChallenge(ctx, challenge, TokenPasskeyRegister, acct.ID)
}

// FinishPasskeyRegistration verifies a registration the account's browser
// made from BeginPasskeyRegistration's options and stores the passkey
// under name. It returns fresh recovery codes (shown once) when the
// account has none: from now on a password alone does not sign in.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, acct *Account, name string, body []byte, client Client) (*Passkey, []string, error) {
	pk, err := s.registerPasskey(ctx, acct, name, body, client)
	if err != nil {
		return nil, nil, err
	}
	n, err := s.cfg.Factors.CountRecoveryCodes(ctx, acct.ID)
	if err != nil || n > 0 {
		return pk, nil, err
	}
	codes, err := s.newRecoveryCodes(ctx, acct)
	return pk, codes, err
}

func (s *Service) registerPasskey(ctx context.Context, acct *Account, name string, body []byte, client Client) (*Passkey, error) {
	name, err := NormalizeDisplayName(name)
	if err != nil {
		return nil, err
	}
	if s.cfg.Ceremonies == nil {
		return nil, errPasskeysOff
	}
	challenge, err := s.cfg.Ceremonies.RegistrationChallenge(body)
	if err != nil {
		return nil, err
	}
	tok, err := s.cfg.Tokens.ConsumeToken(ctx, HashToken(challenge), TokenPasskeyRegister, s.cfg.Clock.Now())
	if ErrorCode(err) == ENOTFOUND || err == nil && tok.AccountID != acct.ID {
		return nil, errPasskeyExpired
	} else if err != nil {
		return nil, unavailable("spending a passkey challenge", err)
	}
	credID, record, err := s.cfg.Ceremonies.VerifyRegistration(body, challenge, s.passkeyUser(acct))
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now()
	pk := &Passkey{ID: NewAccountID(), AccountID: acct.ID, CredentialID: credID, Name: cmp.Or(name, "Passkey"), Credential: record, CreatedAt: now}
	if err := s.cfg.Passkeys.CreatePasskey(ctx, pk); err != nil {
		if ErrorCode(err) == ECONFLICT {
			return nil, Errorf(EINVALID, "This passkey is registered already.")
		}
		return nil, unavailable("storing a passkey", err)
	}
	s.cfg.Auditor.RecordEvent(ctx, &Event{Time: now, Kind: EventFactorAdded, Outcome: OutcomeSuccess, Reason: MethodPasskey, AccountID: acct.ID, ClientAddr: client.Addr})
	return pk, nil
}

// ListPasskeys returns a signed-in account's passkeys.
func (s *Service) ListPasskeys(ctx context.Context, acct *Account) ([]*Passkey, error) {
	if s.cfg.Ceremonies == nil {
		return nil, nil
	}
	keys, err := s.cfg.Passkeys.ListPasskeys(ctx, acct.ID)
	if err != nil {
		return nil, unavailable("listing passkeys", err)
	}
	return keys, nil
}

// RemovePasskey removes one of a signed-in account's passkeys; EINVALID
// if it has none by that ID.
func (s *Service) RemovePasskey(ctx context.Context, acct *Account, id string, client Client) error {
	if s.cfg.Ceremonies == nil {
		return errPasskeysOff
	}
	err := s.cfg.Passkeys.DeletePasskey(ctx, acct.ID, id)
	if ErrorCode(err) == ENOTFOUND {
		return Errorf(EINVALID, "There is no such passkey.")
	} else if err != nil {
		return unavailable("removing a passkey", err)
	}
	s.cfg.Auditor.RecordEvent(ctx, &Event{Time: s.cfg.Clock.Now(), Kind: EventFactorRemoved, Outcome: OutcomeSuccess, Reason: MethodPasskey, AccountID: acct.ID, ClientAddr: client.Addr})
	return nil
}
