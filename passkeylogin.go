package veil

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// PasskeyOptionsRequest asks for the options of a passkey sign-in.
type PasskeyOptionsRequest struct {
	// Identifier is the address typed for an identifier-first sign-in,
	// or nil for a discoverable one.
	Identifier *string
	Client     Client
	// DeviceCookie and Proof are as in LoginRequest: the options are
	// throttled in the buckets of a sign-in, so a challenged client
	// answers with a proof of work bound to them, as a password's is.
	DeviceCookie string
	Proof        string
}

// PasskeyLoginRequest is the finish step of a passkey sign-in.
type PasskeyLoginRequest struct {
	Assertion []byte // the browser's PublicKeyCredential, as JSON
	Client    Client
	// PriorSessionToken, DeviceCookie and Proof are as in LoginRequest;
	// a proof answers the challenge of this step, whose subject is the
	// credential ID.
	PriorSessionToken string
	DeviceCookie      string
	Proof             string
}

// PasskeyLoginOptions returns the request options of a passkey sign-in:
// for a nil identifier, discoverable (no allow list: the authenticator
// offers what it holds, which reveals nothing by construction); for an
// identifier, its account's credential IDs.
//
// An identifier without passkeys — unknown, or an account that has none —
// gets a decoy list instead, derived from a keyed hash of the identifier:
// the same on every request, of a count and ID lengths copied from a real
// account picked by the same hash (rendezvous hashing, so that new
// accounts rarely change it), built by the same code into the same
// options. The browser finds no authenticator for it, exactly as for a
// real account whose authenticator is not at hand, and the finish step
// fails alike. The same lookups run either way, after the floor starts.
//
// A device cookie bound to the identifier gets its owner's browser the
// options while a stranger's guesses have the identifier blocked, as it
// gets her a password sign-in; a proof of work gets a challenged client
// them sooner than the slow lane, as it gets a password sign-in in.
func (s *Service) PasskeyLoginOptions(ctx context.Context, req PasskeyOptionsRequest) ([]byte, error) {
	identifier, client := req.Identifier, req.Client
	var id Identifier
	if identifier != nil {
		var err error
		if id, err = NormalizeIdentifier(*identifier); err != nil {
			return nil, err
		}
	}
	if s.cfg.Ceremonies == nil {
		return nil, errPasskeysOff
	}
	subject := s.cfg.Key.Hash(id)
	if identifier == nil {
		// One bucket per client address: a shared one would bound
		// everyone's requests in flight together.
		subject = s.passkeySubject([]byte("discoverable\x00" + client.Addr))
	}
	adm, err := s.cfg.Throttle.Check(ctx, &Attempt{Action: ActionLogin, Subject: subject, Addr: client.Addr, Device: req.DeviceCookie, Proof: req.Proof})
	if err != nil {
		return nil, err
	}
	// Options check nothing: released uncounted.
	defer s.cfg.Throttle.Done(context.WithoutCancel(ctx), adm, AttemptReleased)
	BeginAccountWork(ctx)
	var allow [][]byte
	if identifier != nil {
		if allow, err = s.allowList(ctx, id); err != nil {
			return nil, err
		}
	}
	// The challenge is signed, not stored (passkeychallenge.go).
	return s.cfg.Ceremonies.LoginOptions(allow, s.newPasskeyChallenge())
}

// allowList returns the credential IDs of id's account, or its decoy.
func (s *Service) allowList(ctx context.Context, id Identifier) ([][]byte, error) {
	decoy, err := s.decoyAllowList(ctx, s.cfg.Key.Hash(id))
	if err != nil {
		return nil, err
	}
	acct, err := s.cfg.Accounts.FindAccountByIdentifier(ctx, id)
	owner := "-" // no account has this ID: the same query runs
	switch {
	case err == nil:
		owner = acct.ID
	case ErrorCode(err) != ENOTFOUND:
		return nil, unavailable("finding an account for passkeys", err)
	}
	keys, err := s.cfg.Passkeys.ListPasskeys(ctx, owner)
	if err != nil {
		return nil, unavailable("listing passkeys", err)
	}
	if len(keys) == 0 {
		return decoy, nil
	}
	allow := make([][]byte, len(keys))
	for i, k := range keys {
		allow[i] = k.CredentialID
	}
	return allow, nil
}

// defaultShape is the decoy of a veil where no account has a passkey yet:
// one credential ID of 16 bytes, as the common platform authenticators
// make.
var defaultShape = []int{16}

// maxShapes bounds the real accounts decoys copy from (and the hashes a
// request computes to pick one).
const maxShapes = 256

// shapeCache holds the shapes of real accounts' allow lists, refreshed
// every minute off any particular identifier.
type shapeCache struct {
	mu      sync.Mutex
	shapes  []PasskeyShape
	fetched time.Time
}

const shapeRefresh = time.Minute

func (s *Service) passkeyShapes(ctx context.Context) ([]PasskeyShape, error) {
	c := &s.shapes
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.cfg.Clock.Now()
	if c.fetched.IsZero() || now.Sub(c.fetched) >= shapeRefresh {
		shapes, err := s.cfg.Passkeys.PasskeyShapes(ctx, maxShapes)
		if err != nil {
			return nil, unavailable("reading passkey shapes", err)
		}
		c.shapes, c.fetched = shapes, now
	}
	return c.shapes, nil
}

// decoyAllowList is the decoy of the identifier whose keyed hash is
// idHash: the shape of the real account with the highest keyed score for
// it, and IDs expanded from a keyed hash.
func (s *Service) decoyAllowList(ctx context.Context, idHash string) ([][]byte, error) {
	shapes, err := s.passkeyShapes(ctx)
	if err != nil {
		return nil, err
	}
	shape := defaultShape
	var best []byte
	for _, sh := range shapes {
		score := s.decoyMAC("shape", idHash, sh.AccountID)
		if best == nil || bytes.Compare(score, best) > 0 {
			best, shape = score, sh.Lengths
		}
	}
	allow := make([][]byte, len(shape))
	for i, n := range shape {
		var id []byte
		for block := 0; len(id) < n; block++ {
			id = append(id, s.decoyMAC("id", idHash, string(rune('0'+i)), string(rune('0'+block)))...)
		}
		allow[i] = id[:n]
	}
	return allow, nil
}

func (s *Service) decoyMAC(parts ...string) []byte {
	m := hmac.New(sha256.New, s.cfg.Key)
	m.Write([]byte("veil passkey decoy v1"))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// passkeySubject is the throttle subject of a passkey finish step, keyed
// from what the client sent (the credential ID): the same whether or not
// a passkey has it.
func (s *Service) passkeySubject(credentialID []byte) string {
	return hex.EncodeToString(s.decoyMAC("subject", string(credentialID))[:16])
}

// PasskeyLogin signs in with a passkey alone: the assertion must answer a
// challenge from PasskeyLoginOptions (once), be signed by a registered
// passkey with user verification, and belong to an enabled account.
// Every failure is the one EUNAUTHORIZED, audited with its reason.
func (s *Service) PasskeyLogin(ctx context.Context, req PasskeyLoginRequest) (*LoginResult, error) {
	if s.cfg.Ceremonies == nil {
		return nil, errPasskeysOff
	}
	a, err := s.cfg.Ceremonies.ParseAssertion(req.Assertion)
	if err != nil {
		return nil, err
	}
	ev := &Event{Kind: EventLogin, Outcome: OutcomeFailure, ClientAddr: req.Client.Addr}
	defer func() { ev.Time = s.cfg.Clock.Now(); s.cfg.Auditor.RecordEvent(ctx, ev) }()
	adm, err := s.cfg.Throttle.Check(ctx, &Attempt{Action: ActionLogin, Subject: s.passkeySubject(a.CredentialID), Addr: req.Client.Addr,
		Device: req.DeviceCookie, Proof: req.Proof})
	if err != nil {
		ev.Reason = throttleReason(err)
		return nil, err
	}
	BeginAccountWork(ctx)
	acct, err := s.verifyPasskey(ctx, a, "", true, ev)
	var res *LoginResult
	if err == nil {
		if res, err = s.startSession(ctx, acct, LoginRequest{Client: req.Client, PriorSessionToken: req.PriorSessionToken}); err != nil {
			ev.Reason = ReasonError
		}
	}
	res, err = s.countLogin(ctx, adm, res, err)
	if err != nil {
		return nil, err
	}
	ev.Outcome, ev.Reason, ev.IdentifierHash = OutcomeSuccess, MethodPasskey, s.cfg.Key.Hash(acct.Email)
	// The device cookie the throttle gave is bound to the credential (it
	// gets this browser past a lockout of the credential, which anyone
	// who asked for her options can cause); the one that gets it past a
	// lockout of her address is added, and the browser keeps both.
	if d, ok := s.cfg.Throttle.(DeviceIssuer); ok {
		res.DeviceCookie, res.DeviceExpires = d.IssueDevice(s.cfg.Key.Hash(acct.Email), res.DeviceCookie)
	}
	return res, nil
}

// verifyPasskey spends the assertion's challenge and verifies it against
// the passkey it names, which must belong to accountID when that is not
// "". ev gets the account and the reason of a failure.
func (s *Service) verifyPasskey(ctx context.Context, a *PasskeyAssertion, accountID string, userVerification bool, ev *Event) (*Account, error) {
	err := s.spendPasskeyChallenge(ctx, a.Challenge)
	if ErrorCode(err) == ENOTFOUND {
		ev.Reason = ReasonInvalidToken
		return nil, errPasskeyFailed
	} else if err != nil {
		ev.Reason = ReasonError
		return nil, unavailable("spending a passkey challenge", err)
	}
	pk, err := s.cfg.Passkeys.FindPasskeyByCredentialID(ctx, a.CredentialID)
	if ErrorCode(err) == ENOTFOUND || err == nil && accountID != "" && pk.AccountID != accountID {
		ev.Reason = ReasonUnknownCredential
		return nil, errPasskeyFailed
	} else if err != nil {
		ev.Reason = ReasonError
		return nil, unavailable("finding a passkey", err)
	}
	ev.AccountID = pk.AccountID
	acct, err := s.cfg.Accounts.FindAccountByID(ctx, pk.AccountID)
	switch {
	case ErrorCode(err) == ENOTFOUND:
		ev.Reason = ReasonUnknownIdentifier
		return nil, errPasskeyFailed
	case err != nil:
		ev.Reason = ReasonError
		return nil, unavailable("finding a passkey's account", err)
	case acct.Disabled:
		ev.Reason = ReasonDisabled
		return nil, errPasskeyFailed
	}
	record, err := s.cfg.Ceremonies.VerifyAssertion(a, pk, userVerification)
	if err != nil {
		ev.Reason = ReasonWrongPasskey
		return nil, errPasskeyFailed
	}
	if err := s.cfg.Passkeys.UpdatePasskeyUse(ctx, pk.ID, record, s.cfg.Clock.Now()); err != nil {
		ev.Reason = ReasonError
		return nil, unavailable("recording a passkey's use", err)
	}
	return acct, nil
}
