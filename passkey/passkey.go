// Package passkey runs WebAuthn ceremonies (github.com/go-webauthn/webauthn)
// for veil's passkeys: the options a browser's navigator.credentials
// takes, and the verification of what it answers.
//
// It only verifies: which credentials to allow, what to store, and whether
// an account exists are decided in package veil. It must never build
// options that differ in shape between a real allow list and a decoy one
// (descriptors carry no transports), and never put a credential, a
// challenge or an assertion into an error or a log.
package passkey

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/veil-id/veil"
)

// Config names the relying party.
type Config struct {
	// RPID is the host name passkeys are bound to (veil's host, or a
	// parent domain of it).
	RPID string
	// Origins are the origins sign-in pages are served from
	// (https://auth.example.com).
	Origins []string
	// DisplayName is shown by the authenticator.
	DisplayName string
	// Timeout is how long the browser waits for the authenticator.
	Timeout time.Duration
	// AnyLocalhostPort also accepts http://localhost:PORT for any port,
	// for a development veil on RPID localhost whose port is chosen at
	// start.
	AnyLocalhostPort bool
}

// Ceremonies implements veil.PasskeyCeremonies.
type Ceremonies struct {
	w         *webauthn.WebAuthn
	rpID      string
	timeout   time.Duration
	origins   []string
	localhost bool
}

var _ veil.PasskeyCeremonies = (*Ceremonies)(nil)

// New checks cfg and returns the ceremonies.
func New(cfg Config) (*Ceremonies, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	w, err := webauthn.New(&webauthn.Config{
		RPID: cfg.RPID, RPDisplayName: cfg.DisplayName, RPOrigins: cfg.Origins,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &Ceremonies{w: w, rpID: cfg.RPID, timeout: cfg.Timeout, origins: cfg.Origins, localhost: cfg.AnyLocalhostPort && cfg.RPID == "localhost"}, nil
}

// user is an account as go-webauthn sees it: its ID is the user handle.
type user struct {
	u     veil.PasskeyUser
	creds []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return []byte(u.u.AccountID) }
func (u *user) WebAuthnName() string                       { return u.u.Name }
func (u *user) WebAuthnDisplayName() string                { return u.u.DisplayName }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// LoginOptions implements veil.PasskeyCeremonies.
func (c *Ceremonies) LoginOptions(allow [][]byte, challenge []byte) ([]byte, error) {
	descs := make([]protocol.CredentialDescriptor, len(allow))
	for i, id := range allow {
		descs[i] = protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: id}
	}
	opts := []webauthn.LoginOption{webauthn.WithUserVerification(protocol.VerificationPreferred), webauthn.WithChallenge(challenge)}
	if len(descs) > 0 {
		opts = append(opts, webauthn.WithAllowedCredentials(descs))
	}
	assertion, _, err := c.w.BeginDiscoverableLogin(opts...)
	if err != nil {
		return nil, fmt.Errorf("passkey: beginning a sign-in: %w", err)
	}
	return json.Marshal(assertion)
}

var errBadResponse = veil.Errorf(veil.EINVALID, "This is not a passkey response a browser would send.")

// ParseAssertion implements veil.PasskeyCeremonies.
func (c *Ceremonies) ParseAssertion(body []byte) (*veil.PasskeyAssertion, error) {
	p, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return nil, errBadResponse
	}
	return &veil.PasskeyAssertion{
		CredentialID: p.RawID, UserHandle: p.Response.UserHandle,
		Challenge: p.Response.CollectedClientData.Challenge, Parsed: p,
	}, nil
}

// VerifyAssertion implements veil.PasskeyCeremonies.
func (c *Ceremonies) VerifyAssertion(a *veil.PasskeyAssertion, pk *veil.Passkey, userVerification bool) ([]byte, error) {
	p, ok := a.Parsed.(*protocol.ParsedCredentialAssertionData)
	if !ok {
		return nil, errors.New("passkey: an assertion not parsed here")
	}
	var cred webauthn.Credential
	if err := json.Unmarshal(pk.Credential, &cred); err != nil {
		return nil, fmt.Errorf("passkey: a stored credential does not decode: %w", err)
	}
	uv := protocol.VerificationPreferred
	if userVerification {
		uv = protocol.VerificationRequired
	}
	origin, ok := c.origin(p.Response.CollectedClientData.Origin)
	if !ok {
		return nil, veil.Errorf(veil.EUNAUTHORIZED, "The passkey did not sign in.")
	}
	session := webauthn.SessionData{
		Challenge: a.Challenge, RelyingPartyID: c.rpID, UserID: []byte(pk.AccountID), Origin: origin,
		Expires: time.Now().Add(c.timeout), UserVerification: uv,
	}
	got, err := c.w.ValidateLogin(&user{u: veil.PasskeyUser{AccountID: pk.AccountID}, creds: []webauthn.Credential{cred}}, session, p)
	if err != nil {
		return nil, veil.Errorf(veil.EUNAUTHORIZED, "The passkey did not sign in.")
	}
	return json.Marshal(got)
}

// RegistrationOptions implements veil.PasskeyCeremonies: a discoverable
// credential (a passkey), so it can sign in without an identifier.
func (c *Ceremonies) RegistrationOptions(u veil.PasskeyUser, exclude [][]byte) ([]byte, string, error) {
	descs := make([]protocol.CredentialDescriptor, len(exclude))
	for i, id := range exclude {
		descs[i] = protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: id}
	}
	creation, session, err := c.w.BeginRegistration(&user{u: u},
		webauthn.WithExclusions(descs),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithCredentialParameters(webauthn.CredentialParametersDefault()),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, UserVerification: protocol.VerificationPreferred,
		}))
	if err != nil {
		return nil, "", fmt.Errorf("passkey: beginning a registration: %w", err)
	}
	b, err := json.Marshal(creation)
	return b, session.Challenge, err
}

// RegistrationChallenge implements veil.PasskeyCeremonies.
func (c *Ceremonies) RegistrationChallenge(body []byte) (string, error) {
	p, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return "", errBadResponse
	}
	return p.Response.CollectedClientData.Challenge, nil
}

// VerifyRegistration implements veil.PasskeyCeremonies.
func (c *Ceremonies) VerifyRegistration(body []byte, challenge string, u veil.PasskeyUser) ([]byte, []byte, error) {
	p, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return nil, nil, errBadResponse
	}
	origin, ok := c.origin(p.Response.CollectedClientData.Origin)
	if !ok {
		return nil, nil, veil.Errorf(veil.EINVALID, "The passkey could not be registered.")
	}
	session := webauthn.SessionData{
		Challenge: challenge, RelyingPartyID: c.rpID, UserID: []byte(u.AccountID), Origin: origin,
		Expires: time.Now().Add(c.timeout), UserVerification: protocol.VerificationPreferred,
		CredParams: webauthn.CredentialParametersDefault(),
	}
	cred, err := c.w.CreateCredential(&user{u: u}, session, p)
	if err != nil {
		return nil, nil, veil.Errorf(veil.EINVALID, "The passkey could not be registered.")
	}
	b, err := json.Marshal(cred)
	return cred.ID, b, err
}

// origin returns the origin a response declared if it may sign in: one
// of the configured origins, or with AnyLocalhostPort http://localhost on
// any port.
func (c *Ceremonies) origin(declared string) (string, bool) {
	if slices.Contains(c.origins, declared) {
		return declared, true
	}
	if !c.localhost {
		return "", false
	}
	u, err := url.Parse(declared)
	ok := err == nil && u.Scheme == "http" && u.Hostname() == "localhost" && u.Path == "" && u.User == nil
	return declared, ok
}
