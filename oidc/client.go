package oidc

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/veil-id/veil"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// NewClientSecret returns a fresh client secret and the hash to store.
func NewClientSecret() (secret string, hash []byte) {
	var b [32]byte
	rand.Read(b[:])
	secret = base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashClientSecret(secret)
}

// HashClientSecret returns the stored form of a client secret.
func HashClientSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// NewClientID returns a fresh random client ID.
func NewClientID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// secretMatches compares a presented secret with a stored hash in constant
// time.
func secretMatches(stored []byte, presented string) bool {
	if len(stored) != sha256.Size || presented == "" {
		return false
	}
	return subtle.ConstantTimeCompare(stored, HashClientSecret(presented)) == 1
}

// maxRedirectURI bounds a registered redirect URI.
const maxRedirectURI = 2000

// CheckClient reports what is wrong with a client's registration: no name
// or redirect URI, a redirect URI that is not absolute, has a fragment,
// control characters or spaces, or is plain http off loopback; a
// confidential client without a secret.
func CheckClient(c *Client) error {
	if strings.TrimSpace(c.Name) == "" || len(c.Name) > 200 {
		return veil.Errorf(veil.EINVALID, "A client needs a name of at most 200 bytes.")
	}
	if c.ID == "" || len(c.ID) > 200 || strings.ContainsAny(c.ID, " \t\r\n:") {
		return veil.Errorf(veil.EINVALID, "A client ID is 1 to 200 bytes without spaces or colons.")
	}
	if len(c.RedirectURIs) == 0 {
		return veil.Errorf(veil.EINVALID, "A client needs at least one redirect URI.")
	}
	for _, u := range append(append([]string(nil), c.RedirectURIs...), c.PostLogoutRedirectURIs...) {
		if err := checkRedirectURI(u); err != nil {
			return err
		}
	}
	if c.SigningAlgorithm != "" {
		if err := CheckAlgorithm(c.SigningAlgorithm); err != nil {
			return err
		}
	}
	if len(c.JWKS) > 0 {
		if c.Public || c.SecretHash != nil {
			return veil.Errorf(veil.EINVALID, "A client with a JWKS authenticates with it alone: it is neither public nor has a secret.")
		}
		if err := checkJWKS(c.JWKS); err != nil {
			return err
		}
	} else if !c.Public && len(c.SecretHash) != sha256.Size {
		return veil.Errorf(veil.EINVALID, "A confidential client needs a secret or a JWKS.")
	}
	return nil
}

func checkRedirectURI(raw string) error {
	bad := func(why string) error { return veil.Errorf(veil.EINVALID, "Redirect URI %q %s.", raw, why) }
	if raw == "" || len(raw) > maxRedirectURI {
		return bad("is empty or too long")
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f {
			return bad("holds a space or control character")
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Fragment != "" || strings.Contains(raw, "#") {
		return bad("is not an absolute URI without a fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if _, loopback := op.HTTPLoopbackOrLocalhost(raw); !loopback {
			return bad("is plain http off loopback")
		}
	case "javascript", "data", "file", "vbscript":
		return bad("has a scheme no browser may be sent to")
	}
	return nil
}

// Lifetimes of what the provider issues.
const (
	authRequestLifetime  = 15 * time.Minute
	accessTokenLifetime  = time.Hour
	idTokenLifetime      = time.Hour
	refreshTokenLifetime = 30 * 24 * time.Hour
)

// opClient is a Client as package op sees it.
type opClient struct {
	c        *Client
	loginURL func(id string) string
}

var _ op.Client = (*opClient)(nil)

func (c *opClient) GetID() string                    { return c.c.ID }
func (c *opClient) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c *opClient) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }

// ApplicationType: a public client is native (RFC 8252: loopback redirects
// may change port, custom schemes are allowed); a confidential one is web.
func (c *opClient) ApplicationType() op.ApplicationType {
	if c.c.Public {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

// AuthMethod: client_secret_basic also admits client_secret_post in op.
func (c *opClient) AuthMethod() oidc.AuthMethod {
	if c.c.Public {
		return oidc.AuthMethodNone
	}
	if len(c.c.JWKS) > 0 {
		return oidc.AuthMethodPrivateKeyJWT
	}
	return oidc.AuthMethodBasic
}

func (c *opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *opClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (c *opClient) LoginURL(id string) string            { return c.loginURL(id) }
func (c *opClient) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *opClient) IDTokenLifetime() time.Duration       { return idTokenLifetime }
func (c *opClient) DevMode() bool                        { return false }
func (c *opClient) IsScopeAllowed(scope string) bool     { return false }
func (c *opClient) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *opClient) ClockSkew() time.Duration             { return 0 }
func (c *opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// String names the client in the operator's log.
func (c *opClient) String() string { return fmt.Sprintf("client %s", c.c.ID) }
