package veil

import (
	"context"
	"time"
)

// The OpenID Provider's state, as package oidc asks for it and the SQL
// store keeps it. It lives here, with the other interfaces to the outside
// world, so that the store implements it without importing the provider:
// adapters depend on the domain, never on each other. Package oidc names
// these types again without the prefix (oidc.Client, oidc.Store).

// OIDCClient is an application that signs its users in with veil.
type OIDCClient struct {
	ID   string
	Name string
	// SecretHash is the SHA-256 of the client secret (secrets are 32
	// random bytes, so a fast hash is enough); nil for a public client.
	SecretHash             []byte
	RedirectURIs           []string // matched exactly
	PostLogoutRedirectURIs []string // matched exactly
	// Public clients (apps in a browser or on a device) cannot keep a
	// secret: they authenticate with PKCE (S256) alone.
	Public bool
	// FirstParty clients belong to whoever runs veil: their users are not
	// asked to consent.
	FirstParty bool
	// AllowEmail lets the client receive the email claim (with the email
	// scope); without it the address never leaves veil (invariant 7).
	AllowEmail bool
	// SigningAlgorithm signs the client's ID tokens (ES256, EdDSA, RS256);
	// "" for the provider's default.
	SigningAlgorithm string
	// PublicSubject gives the client the account ID as its subject instead
	// of a pairwise one: only for clients that must correlate with others.
	PublicSubject bool
	// Sector, when not "", is the pairwise subject's sector: clients of one
	// sector see the same subject for a person. "" means the client ID.
	Sector    string
	CreatedAt time.Time
	// JWKS is the client's JSON Web Key Set (public keys): a client with
	// one authenticates with private_key_jwt (RFC 7523) instead of a
	// secret. Configured, never fetched.
	JWKS []byte
	// FromConfig marks a client declared in [[oidc.clients]]: it lives in
	// the configuration, not in the store.
	FromConfig bool
}

// OIDCAuthRequest is an authorization request between the authorization
// endpoint and the token endpoint: who asked (the client and its
// parameters), who signed in, and the code once it is issued.
type OIDCAuthRequest struct {
	ID                  string
	ClientID            string
	RedirectURI         string
	State               string
	Nonce               string
	Scopes              []string
	ResponseType        string
	ResponseMode        string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              []string
	// MaxAge is the max_age parameter in seconds, -1 when absent.
	MaxAge int64
	// HintSubject is the subject of a valid id_token_hint, or "".
	HintSubject string
	CreatedAt   time.Time
	ExpiresAt   time.Time

	// Set once a person has signed in and consented.
	AccountID string
	AuthTime  time.Time
	AMR       []string
	Done      bool
	// CodeUsed says its code was redeemed: the request is kept until it
	// expires, so that the code presented again ends what it granted.
	CodeUsed bool
}

// OIDCAccessToken is an issued access token; the token given to the client is
// the ID sealed with the provider's token key.
type OIDCAccessToken struct {
	ID        string
	ClientID  string
	AccountID string
	Subject   string
	Scopes    []string
	// Family is the refresh token family the token came from, or "".
	Family    string
	AuthTime  time.Time
	AMR       []string
	ExpiresAt time.Time
}

// OIDCRefreshToken is one link of a refresh token family. A refresh token is
// used once: using it rotates it (it is marked used and a new one joins the
// family); using a used one is reuse, which ends the whole family.
type OIDCRefreshToken struct {
	Hash      []byte // SHA-256 of the token
	Family    string
	ClientID  string
	AccountID string
	Subject   string
	Scopes    []string
	AuthTime  time.Time
	AMR       []string
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is when the token was rotated; zero while it is current.
	UsedAt time.Time
}

// OIDCSigningKey is one key the provider signs tokens with.
type OIDCSigningKey struct {
	ID        string
	Algorithm string // ES256, EdDSA, RS256
	// Sealed is the private key (PKCS #8) encrypted with the key
	// encryption key; the store never sees it in the clear.
	Sealed    []byte
	CreatedAt time.Time
	// RetiredAt is when a newer key replaced it; zero while it signs. A
	// retired key stays in the key set until the tokens it signed expire.
	RetiredAt time.Time
}

// OIDCStore keeps everything of the OpenID Provider (package oidc) that
// several instances share. Methods return veil errors: ENOTFOUND, ECONFLICT, EINVALID where said,
// anything else is a fault of the database.
type OIDCStore interface {
	// CreateClient stores c; ECONFLICT if its ID is taken.
	CreateClient(ctx context.Context, c *OIDCClient) error
	// FindClient returns the client with id, or ENOTFOUND.
	FindClient(ctx context.Context, id string) (*OIDCClient, error)
	// ListClients returns every stored client ordered by ID.
	ListClients(ctx context.Context) ([]*OIDCClient, error)
	// DeleteClient removes a client with its requests, tokens and
	// consents; ENOTFOUND if there is none.
	DeleteClient(ctx context.Context, id string) error
	// ReplaceClientSecret sets the secret hash of a client; ENOTFOUND.
	ReplaceClientSecret(ctx context.Context, id string, hash []byte) error

	// CreateAuthRequest stores r.
	CreateAuthRequest(ctx context.Context, r *OIDCAuthRequest) error
	// FindAuthRequest returns the request with id, or ENOTFOUND.
	FindAuthRequest(ctx context.Context, id string) (*OIDCAuthRequest, error)
	// IssueAuthCode records who signed in to a request (and consented)
	// and the hash of the code it gets, in one write; ENOTFOUND if the
	// request is gone or has a code already.
	IssueAuthCode(ctx context.Context, id, accountID string, authTime time.Time, amr []string, codeHash []byte) error
	// FindAuthRequestByCode returns the request of a code, used or not
	// (CodeUsed), or ENOTFOUND.
	FindAuthRequestByCode(ctx context.Context, codeHash []byte) (*OIDCAuthRequest, error)
	// RedeemAuthCode marks a code used and stores the tokens it grants
	// (refresh may be nil), atomically: of two callers with one code only
	// one succeeds. ENOTFOUND if no unused code has codeHash.
	RedeemAuthCode(ctx context.Context, codeHash []byte, access *OIDCAccessToken, refresh *OIDCRefreshToken) error
	// DeleteAuthRequest removes a request whose code was not used; one
	// whose code was used stays until it expires. No error if it is gone.
	DeleteAuthRequest(ctx context.Context, id string) error

	// CreateAccessToken stores t.
	CreateAccessToken(ctx context.Context, t *OIDCAccessToken) error
	// FindAccessToken returns the access token with id, or ENOTFOUND.
	FindAccessToken(ctx context.Context, id string) (*OIDCAccessToken, error)
	// DeleteAccessToken removes one access token; no error if it is gone.
	DeleteAccessToken(ctx context.Context, id string) error

	// CreateRefreshToken stores the first token of a family.
	CreateRefreshToken(ctx context.Context, t *OIDCRefreshToken) error
	// FindRefreshToken returns the token with hash, used or not, or
	// ENOTFOUND.
	FindRefreshToken(ctx context.Context, hash []byte) (*OIDCRefreshToken, error)
	// RotateRefreshToken marks the token with oldHash used at now and
	// stores next in its family with the access token it comes with,
	// atomically; ECONFLICT if the old token was already used (reuse, or
	// two rotations at once), ENOTFOUND if it is gone.
	RotateRefreshToken(ctx context.Context, oldHash []byte, next *OIDCRefreshToken, access *OIDCAccessToken, now time.Time) error
	// RevokeTokenFamily removes every refresh and access token of a
	// family.
	RevokeTokenFamily(ctx context.Context, family string) error
	// RevokeGrants removes every refresh and access token one account holds
	// for one client (clientID "" for every client) and returns how many
	// refresh token families ended.
	RevokeGrants(ctx context.Context, accountID, clientID string) (int, error)

	// CreateSigningKey stores k.
	CreateSigningKey(ctx context.Context, k *OIDCSigningKey) error
	// ListSigningKeys returns every signing key, newest first.
	ListSigningKeys(ctx context.Context) ([]*OIDCSigningKey, error)
	// RetireSigningKeys marks every active key of algorithm alg but keep
	// as retired at now.
	RetireSigningKeys(ctx context.Context, alg, keep string, now time.Time) error
	// DeleteSigningKeysRetiredBefore removes keys retired before t.
	DeleteSigningKeysRetiredBefore(ctx context.Context, t time.Time) (int, error)

	// SaveConsent records that an account consented to scopes for a
	// client, replacing what it consented to before.
	SaveConsent(ctx context.Context, accountID, clientID string, scopes []string, now time.Time) error
	// FindConsent returns the scopes an account consented to for a
	// client, or nil.
	FindConsent(ctx context.Context, accountID, clientID string) ([]string, error)

	// ClaimAssertion records the jti of a client's assertion as used until
	// expiresAt; ECONFLICT if it was used already.
	ClaimAssertion(ctx context.Context, clientID, jti string, expiresAt time.Time) error

	// DeleteExpiredOIDC removes auth requests, access and refresh tokens
	// and used assertions that expired before now, and returns how many
	// rows went.
	DeleteExpiredOIDC(ctx context.Context, now time.Time) (int, error)
}
