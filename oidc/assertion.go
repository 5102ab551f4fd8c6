package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/veil-id/veil"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// private_key_jwt (RFC 7523 section 2.2, OIDC Core 9): a client proves
// who it is with a JWT it signed with a key of the JWKS it was registered
// with. op verifies the signature, audience, expiry and issued-at, but
// would take one assertion any number of times; assertions verifies it
// first and spends its jti, so a copied assertion is refused.

// maxAssertionLifetime bounds how far ahead an assertion may expire: its
// jti is kept until then.
const maxAssertionLifetime = time.Hour

var errBadAssertion = errorBody{Error: "invalid_client", Description: errUnknownClient.Description}

// assertionIssuer is the client an assertion names, unverified: what the
// throttle counts the request under before anything is checked.
func assertionIssuer(r *http.Request) (string, bool) {
	if r.PostForm.Get("client_assertion_type") != oidc.ClientAssertionTypeJWTAssertion {
		return "", false
	}
	var claims oidc.JWTTokenRequest
	if _, err := oidc.ParseToken(r.PostForm.Get("client_assertion"), &claims); err != nil {
		return "", true
	}
	return claims.Issuer, true
}

// assertions refuses a request whose client assertion does not verify,
// lives too long, has no jti, or was used before; the rest go on to h
// (op), which verifies the assertion again and authenticates the client.
func (p *Provider) assertions(h http.Handler) http.Handler {
	verifier := op.NewJWTProfileVerifier(p.storage, p.issuer, time.Hour, time.Second)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseParams(w, r) {
			return
		}
		if r.PostForm.Get("client_assertion_type") != oidc.ClientAssertionTypeJWTAssertion {
			h.ServeHTTP(w, r)
			return
		}
		req, err := op.VerifyJWTAssertion(r.Context(), r.PostForm.Get("client_assertion"), verifier)
		if err != nil || req.JWTID == "" || req.ExpiresAt.AsTime().After(p.now().Add(maxAssertionLifetime)) {
			writeError(w, http.StatusUnauthorized, errBadAssertion)
			return
		}
		jti := sha256.Sum256([]byte(req.JWTID))
		err = p.storage.store.ClaimAssertion(r.Context(), req.Issuer, base64.RawURLEncoding.EncodeToString(jti[:]), req.ExpiresAt.AsTime())
		switch veil.ErrorCode(err) {
		case "":
			h.ServeHTTP(w, r)
		case veil.ECONFLICT:
			p.logger.WarnContext(r.Context(), "oidc: a client assertion was presented again", "client_id", req.Issuer)
			writeError(w, http.StatusUnauthorized, errBadAssertion)
		default:
			p.storage.fault(r.Context(), "claiming a client assertion", err)
			w.Header().Set("Retry-After", "5")
			writeError(w, http.StatusServiceUnavailable, errorBody{Error: "temporarily_unavailable", Description: "The service is temporarily unavailable."})
		}
	})
}

// GetKeyByIDAndClientID returns the key of a client's JWKS that signed an
// assertion: the one with keyID, or the only one when the assertion names
// none.
func (s *storage) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	c, err := s.findClient(ctx, clientID)
	if veil.ErrorCode(err) == veil.ENOTFOUND {
		return nil, errUnknownClient
	} else if err != nil {
		return nil, s.fault(ctx, "finding a client", err)
	}
	set, err := parseJWKS(c.JWKS)
	if err != nil || len(set.Keys) == 0 {
		return nil, errUnknownClient
	}
	if keyID == "" && len(set.Keys) == 1 {
		return &set.Keys[0], nil
	}
	for i, k := range set.Keys {
		if keyID != "" && k.KeyID == keyID {
			return &set.Keys[i], nil
		}
	}
	return nil, errUnknownClient
}

// parseJWKS reads a client's key set; nil is an empty one.
func parseJWKS(raw []byte) (*jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if len(raw) == 0 {
		return &set, nil
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, err
	}
	return &set, nil
}

// checkJWKS reports what is wrong with a client's key set: it must parse
// and hold public signing keys only, each with a key ID when there are
// several.
func checkJWKS(raw []byte) error {
	set, err := parseJWKS(raw)
	if err != nil {
		return veil.Errorf(veil.EINVALID, "The client's JWKS is not a JSON Web Key Set.")
	}
	for _, k := range set.Keys {
		if !k.Valid() || !k.IsPublic() || k.Use == "enc" {
			return veil.Errorf(veil.EINVALID, "The client's JWKS must hold public signing keys only.")
		}
		if len(set.Keys) > 1 && k.KeyID == "" {
			return veil.Errorf(veil.EINVALID, "Every key of a client's JWKS with several keys needs a kid.")
		}
	}
	return nil
}
