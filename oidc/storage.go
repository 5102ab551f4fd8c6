package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/veil-id/veil"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// storage is the provider's state as package op asks for it: an adapter
// from op.Storage to Store, the accounts and the keys. Every error it
// returns is an *oidc.Error whose description is safe to show: causes go to
// the operator's log only.
type storage struct {
	store      Store
	accounts   AccountFinder
	keys       *keyring
	subjectKey []byte
	clients    map[string]*Client // from the configuration
	loginURL   func(id string) string
	// accountPage is where a logout without id_token_hint goes.
	accountPage string
	now         func() time.Time
	logger      *slog.Logger
}

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanTerminateSessionFromRequest = (*storage)(nil)
)

// fault logs a database or key failure and returns the public answer to
// it, which names no cause.
func (s *storage) fault(ctx context.Context, doing string, err error) *oidc.Error {
	s.logger.ErrorContext(ctx, "oidc: "+doing, "err", err)
	markFault(ctx)
	return oidc.ErrServerError().WithDescription("The service is temporarily unavailable.")
}

func randomID() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashToken(t string) []byte {
	sum := sha256.Sum256([]byte(t))
	return sum[:]
}

// subject is what client c calls the account: a keyed hash of the account
// and the client's sector (pairwise, OIDC Core 8.1) unless the client is
// configured for the account ID itself.
func (s *storage) subject(c *Client, accountID string) string {
	if c.PublicSubject {
		return accountID
	}
	sector := c.Sector
	if sector == "" {
		sector = "client:" + c.ID
	}
	m := hmac.New(sha256.New, s.subjectKey)
	m.Write([]byte(sector))
	m.Write([]byte{0})
	m.Write([]byte(accountID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// findClient returns a configured or stored client; ENOTFOUND. A stored
// client is read once per request: op asks for it up to eight times.
func (s *storage) findClient(ctx context.Context, id string) (*Client, error) {
	if c, ok := s.clients[id]; ok {
		return c, nil
	}
	memo, _ := ctx.Value(clientMemoKey{}).(*clientMemo)
	if memo != nil {
		if c, ok := memo.clients[id]; ok {
			return c, nil
		}
	}
	c, err := s.store.FindClient(ctx, id)
	if err == nil && memo != nil {
		memo.clients[id] = c
	}
	return c, err
}

// clientMemo holds the stored clients one request read.
type clientMemo struct{ clients map[string]*Client }

type clientMemoKey struct{}

var errUnknownClient = oidc.ErrInvalidClient().WithDescription("The client is unknown or its credentials are wrong.")

func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.findClient(ctx, id)
	if veil.ErrorCode(err) == veil.ENOTFOUND {
		return nil, errUnknownClient
	} else if err != nil {
		return nil, s.fault(ctx, "finding a client", err)
	}
	return &opClient{c: c, loginURL: s.loginURL}, nil
}

func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := s.findClient(ctx, id)
	if veil.ErrorCode(err) == veil.ENOTFOUND {
		return errUnknownClient
	} else if err != nil {
		return s.fault(ctx, "finding a client", err)
	}
	if c.Public || len(c.JWKS) > 0 || !secretMatches(c.SecretHash, secret) {
		return errUnknownClient
	}
	return nil
}

var errRequestGone = oidc.ErrInvalidRequest().WithDescription("The sign-in request is unknown or has expired; start again from the application.")

func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	c, err := s.findClient(ctx, req.ClientID)
	if err != nil {
		return nil, oidc.DefaultToServerError(s.fault(ctx, "finding a client", err), "")
	}
	if c.Public && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("A public client must use PKCE with S256.")
	}
	now := s.now()
	r := &AuthRequest{
		ID: randomID(), ClientID: c.ID, RedirectURI: req.RedirectURI, State: req.State, Nonce: req.Nonce,
		Scopes: req.Scopes, ResponseType: string(req.ResponseType), ResponseMode: string(req.ResponseMode),
		CodeChallenge: req.CodeChallenge, CodeChallengeMethod: string(req.CodeChallengeMethod),
		Prompt: req.Prompt, MaxAge: -1, HintSubject: hintSubject,
		CreatedAt: now, ExpiresAt: now.Add(authRequestLifetime),
	}
	if req.MaxAge != nil {
		r.MaxAge = int64(*req.MaxAge)
	}
	if err := s.store.CreateAuthRequest(ctx, r); err != nil {
		return nil, s.fault(ctx, "creating an auth request", err)
	}
	if created, ok := ctx.Value(createdKey{}).(*createdRequest); ok {
		created.r, created.client = r, c
	}
	return &authRequest{r: r}, nil
}

// wrapRequest gives a stored request its subject.
func (s *storage) wrapRequest(ctx context.Context, r *AuthRequest) (*authRequest, error) {
	a := &authRequest{r: r}
	if r.AccountID == "" {
		return a, nil
	}
	c, err := s.findClient(ctx, r.ClientID)
	if veil.ErrorCode(err) == veil.ENOTFOUND {
		return nil, errRequestGone
	} else if err != nil {
		return nil, s.fault(ctx, "finding a client", err)
	}
	a.subject = s.subject(c, r.AccountID)
	return a, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	r, err := s.store.FindAuthRequest(ctx, id)
	if veil.ErrorCode(err) == veil.ENOTFOUND || err == nil && !s.now().Before(r.ExpiresAt) {
		return nil, errRequestGone
	} else if err != nil {
		return nil, s.fault(ctx, "finding an auth request", err)
	}
	return s.wrapRequest(ctx, r)
}

var errBadCode = oidc.ErrInvalidGrant().WithDescription("The code is invalid, expired or used.")

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, err := s.store.FindAuthRequestByCode(ctx, hashToken(code))
	if veil.ErrorCode(err) == veil.ENOTFOUND || err == nil && (!s.now().Before(r.ExpiresAt) || !r.Done) {
		return nil, errBadCode
	} else if err != nil {
		return nil, s.fault(ctx, "finding an auth code", err)
	}
	if r.CodeUsed {
		s.codeReused(ctx, r)
		return nil, errBadCode
	}
	a, err := s.wrapRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	a.codeHash = hashToken(code)
	return a, nil
}

// codeFamily is the token family of everything a code granted, so that the
// code presented again can end it (RFC 6749, 4.1.2).
func codeFamily(requestID string) string { return "code:" + requestID }

// codeReused ends what a code granted: it came back, so someone else holds
// it too.
func (s *storage) codeReused(ctx context.Context, r *AuthRequest) {
	s.logger.WarnContext(ctx, "oidc: auth code used twice; revoking what it granted", "client_id", r.ClientID, "account", r.AccountID)
	if err := s.store.RevokeTokenFamily(ctx, codeFamily(r.ID)); err != nil {
		s.logger.ErrorContext(ctx, "oidc: revoking a code's tokens", "err", err)
	}
}

// completion is who signed in to a request, on its way to SaveAuthCode:
// op makes the code, and the store records both in one write.
type completion struct {
	accountID string
	authTime  time.Time
	amr       []string
}

type completionKey struct{}

// SaveAuthCode records the sign-in the context carries with the code's
// hash. Without one (op's callback endpoint) there is no code to give.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	c, ok := ctx.Value(completionKey{}).(*completion)
	if !ok {
		return errRequestGone
	}
	if err := s.store.IssueAuthCode(ctx, id, c.accountID, c.authTime, c.amr, hashToken(code)); veil.ErrorCode(err) == veil.ENOTFOUND {
		return errRequestGone
	} else if err != nil {
		return s.fault(ctx, "saving an auth code", err)
	}
	return nil
}

// DeleteAuthRequest is what op calls once a code was exchanged, and the
// request whose code was used stays until it expires (codeReused), so at
// the token endpoint there is nothing to write.
func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	if _, ok := ctx.Value(clientKey{}).(string); ok {
		return nil
	}
	if err := s.store.DeleteAuthRequest(ctx, id); err != nil {
		return s.fault(ctx, "deleting an auth request", err)
	}
	return nil
}

// tokenOwner is whose a token request is, for every request type the
// provider hands op.
func tokenOwner(req op.TokenRequest) (accountRequest, bool) {
	a, ok := req.(accountRequest)
	return a, ok && a.accountID() != ""
}

func (s *storage) newAccessToken(owner accountRequest, scopes []string, family string) *AccessToken {
	return &AccessToken{
		ID: randomID(), ClientID: owner.GetClientID(), AccountID: owner.accountID(), Subject: owner.GetSubject(),
		Scopes: scopes, Family: family, AuthTime: owner.GetAuthTime(), AMR: owner.GetAMR(),
		ExpiresAt: s.now().Add(accessTokenLifetime),
	}
}

var errNoPerson = oidc.ErrInvalidGrant().WithDescription("The grant has no signed-in person.")

// redeem uses up the code of a request from the token endpoint and stores
// what it grants, in one transaction: of two exchanges of one code only
// one gets past here, and the other ends what the first was granted.
func (s *storage) redeem(ctx context.Context, a *authRequest, access *AccessToken, refresh *RefreshToken) error {
	err := s.store.RedeemAuthCode(ctx, a.codeHash, access, refresh)
	if veil.ErrorCode(err) == veil.ENOTFOUND {
		s.codeReused(ctx, a.r)
		return errBadCode
	} else if err != nil {
		return s.fault(ctx, "redeeming an auth code", err)
	}
	return nil
}

// codeRequest returns the auth request of a token request that redeems a
// code, or nil: every grant veil serves comes from a code or a refresh
// token.
func codeRequest(req op.TokenRequest) *authRequest {
	if a, ok := req.(*authRequest); ok && a.codeHash != nil {
		return a
	}
	return nil
}

func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	owner, ok := tokenOwner(req)
	a := codeRequest(req)
	if !ok || a == nil {
		return "", time.Time{}, errNoPerson
	}
	t := s.newAccessToken(owner, req.GetScopes(), codeFamily(a.r.ID))
	if err := s.redeem(ctx, a, t, nil); err != nil {
		return "", time.Time{}, err
	}
	return t.ID, t.ExpiresAt, nil
}

var errBadRefresh = oidc.ErrInvalidGrant().WithDescription("The refresh token is invalid, expired or used.")

// CreateAccessAndRefreshTokens starts a refresh token family (code flow
// with offline_access) or rotates the presented token: the old one is used
// up, and presenting it again ends the family (TokenRequestByRefreshToken).
// Each is one transaction with its access token.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	owner, ok := tokenOwner(req)
	if !ok {
		return "", "", time.Time{}, errNoPerson
	}
	now := s.now()
	token := randomID()
	next := &RefreshToken{
		Hash: hashToken(token), ClientID: owner.GetClientID(), AccountID: owner.accountID(), Subject: owner.GetSubject(),
		Scopes: req.GetScopes(), AuthTime: owner.GetAuthTime(), AMR: owner.GetAMR(),
		CreatedAt: now, ExpiresAt: now.Add(refreshTokenLifetime),
	}
	if rr, ok := req.(*refreshRequest); ok && current != "" {
		next.Family = rr.t.Family
		next.Scopes = rr.t.Scopes // a narrower request narrows the access token, not the grant
		at := s.newAccessToken(owner, req.GetScopes(), next.Family)
		err := s.store.RotateRefreshToken(ctx, hashToken(current), next, at, now)
		switch veil.ErrorCode(err) {
		case "":
			return at.ID, token, at.ExpiresAt, nil
		case veil.ECONFLICT:
			s.endFamily(ctx, rr.t, "refresh token used twice at once")
			return "", "", time.Time{}, errBadRefresh
		case veil.ENOTFOUND:
			return "", "", time.Time{}, errBadRefresh
		default:
			return "", "", time.Time{}, s.fault(ctx, "rotating a refresh token", err)
		}
	}
	a := codeRequest(req)
	if a == nil {
		return "", "", time.Time{}, errNoPerson
	}
	next.Family = codeFamily(a.r.ID)
	at := s.newAccessToken(owner, req.GetScopes(), next.Family)
	if err := s.redeem(ctx, a, at, next); err != nil {
		return "", "", time.Time{}, err
	}
	return at.ID, token, at.ExpiresAt, nil
}

// endFamily revokes every token of a refresh token family: a used token
// came back, so someone holds a copy.
func (s *storage) endFamily(ctx context.Context, t *RefreshToken, why string) {
	s.logger.WarnContext(ctx, "oidc: refresh token reuse; ending its family", "client_id", t.ClientID, "account", t.AccountID, "why", why)
	if err := s.store.RevokeTokenFamily(ctx, t.Family); err != nil {
		s.logger.ErrorContext(ctx, "oidc: revoking a token family", "err", err)
	}
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	t, err := s.store.FindRefreshToken(ctx, hashToken(token))
	if veil.ErrorCode(err) == veil.ENOTFOUND {
		return nil, errBadRefresh
	} else if err != nil {
		return nil, s.fault(ctx, "finding a refresh token", err)
	}
	if !t.UsedAt.IsZero() {
		s.endFamily(ctx, t, "a rotated token was presented")
		return nil, errBadRefresh
	}
	if !s.now().Before(t.ExpiresAt) {
		return nil, errBadRefresh
	}
	if _, err := s.activeAccount(ctx, t.AccountID); err != nil {
		return nil, err
	}
	return &refreshRequest{t: t, scopes: t.Scopes}, nil
}

// activeAccount returns an account that may still use its grants.
func (s *storage) activeAccount(ctx context.Context, id string) (*veil.Account, error) {
	acct, err := s.accounts.FindAccount(ctx, id)
	if veil.ErrorCode(err) == veil.ENOTFOUND || err == nil && acct.Disabled {
		return nil, oidc.ErrInvalidGrant().WithDescription("The grant is no longer valid.")
	} else if err != nil {
		return nil, s.fault(ctx, "finding an account", err)
	}
	return acct, nil
}

func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	return nil // TerminateSessionFromRequest is used instead
}

func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	t, err := s.store.FindRefreshToken(ctx, hashToken(token))
	if err != nil || t.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return t.Subject, base64.RawURLEncoding.EncodeToString(t.Hash), nil
}

func (s *storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	if userID != "" { // an access token's ID
		t, err := s.store.FindAccessToken(ctx, tokenOrID)
		if err != nil || t.ClientID != clientID {
			return nil // RFC 7009: an unknown token is no error
		}
		if err := s.store.DeleteAccessToken(ctx, t.ID); err != nil {
			return s.fault(ctx, "revoking an access token", err)
		}
		return nil
	}
	hash, err := base64.RawURLEncoding.DecodeString(tokenOrID)
	if err != nil || len(hash) != sha256.Size {
		hash = hashToken(tokenOrID)
	}
	t, err := s.store.FindRefreshToken(ctx, hash)
	if err != nil || t.ClientID != clientID {
		return nil
	}
	if err := s.store.RevokeTokenFamily(ctx, t.Family); err != nil {
		return s.fault(ctx, "revoking a refresh token", err)
	}
	return nil
}

// clientKey carries the client a token request names into SigningKey,
// which op asks without one (tokenClient sets it).
type clientKey struct{}

// SigningKey is the key of the algorithm the requesting client is
// configured for, or of the default one.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	alg := ""
	if id, ok := ctx.Value(clientKey{}).(string); ok && id != "" {
		if c, err := s.findClient(ctx, id); err == nil {
			alg = c.SigningAlgorithm
		}
	}
	k, err := s.keys.current(ctx, alg)
	if err != nil {
		return nil, s.fault(ctx, "loading the signing key", err)
	}
	return opSigningKey{k}, nil
}

func (s *storage) SignatureAlgorithms(ctx context.Context) ([]jose.SignatureAlgorithm, error) {
	algs := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(s.keys.alg)}
	for _, a := range algorithms {
		if a := jose.SignatureAlgorithm(a); !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	return algs, nil
}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	if err := s.keys.ensure(ctx); err != nil {
		return nil, s.fault(ctx, "loading the signing keys", err)
	}
	keys, err := s.keys.load(ctx)
	if err != nil {
		return nil, s.fault(ctx, "loading the signing keys", err)
	}
	set := make([]op.Key, len(keys))
	for i, k := range keys {
		set[i] = opPublicKey{k}
	}
	return set, nil
}

// setClaims fills the claims an account's grant shows a client: name with
// the profile scope, the email address only with the email scope and a
// client allowed it.
func (s *storage) setClaims(ctx context.Context, info *oidc.UserInfo, accountID, clientID string, scopes []string) error {
	acct, err := s.activeAccount(ctx, accountID)
	if err != nil {
		return err
	}
	c, err := s.findClient(ctx, clientID)
	if veil.ErrorCode(err) == veil.ENOTFOUND {
		return errUnknownClient
	} else if err != nil {
		return s.fault(ctx, "finding a client", err)
	}
	info.Subject = s.subject(c, acct.ID)
	if slices.Contains(scopes, oidc.ScopeProfile) && acct.DisplayName != "" {
		info.Name = acct.DisplayName
	}
	if slices.Contains(scopes, oidc.ScopeEmail) && c.AllowEmail {
		info.Email = string(acct.Email)
		info.EmailVerified = true // accounts exist only once their address is confirmed
	}
	return nil
}

func (s *storage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, userID, clientID string, scopes []string) error {
	return nil // SetUserinfoFromRequest does it
}

func (s *storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	owner, ok := req.(accountRequest)
	if !ok || owner.accountID() == "" {
		return oidc.ErrInvalidGrant().WithDescription("The grant has no signed-in person.")
	}
	return s.setClaims(ctx, info, owner.accountID(), owner.GetClientID(), scopes)
}

var errBadAccessToken = oidc.ErrInvalidRequest().WithDescription("The access token is invalid or expired.")

func (s *storage) liveAccessToken(ctx context.Context, id string) (*AccessToken, error) {
	t, err := s.store.FindAccessToken(ctx, id)
	if veil.ErrorCode(err) == veil.ENOTFOUND || err == nil && !s.now().Before(t.ExpiresAt) {
		return nil, errBadAccessToken
	} else if err != nil {
		return nil, s.fault(ctx, "finding an access token", err)
	}
	return t, nil
}

func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	t, err := s.liveAccessToken(ctx, tokenID)
	if err != nil {
		return err
	}
	if t.Subject != subject {
		return errBadAccessToken
	}
	return s.setClaims(ctx, info, t.AccountID, t.ClientID, t.Scopes)
}

func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, err := s.liveAccessToken(ctx, tokenID)
	if err != nil || t.Subject != subject || t.ClientID != clientID {
		return nil // inactive
	}
	resp.Active = true
	resp.Subject = t.Subject
	resp.ClientID = t.ClientID
	resp.Scope = oidc.SpaceDelimitedArray(t.Scopes)
	resp.Expiration = oidc.FromTime(t.ExpiresAt)
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(ctx context.Context, userID, clientID string, scopes []string) (map[string]any, error) {
	return nil, nil
}

var errNoJWTProfile = oidc.ErrUnsupportedGrantType().WithDescription("JWT profile grants are not supported.")

func (s *storage) ValidateJWTProfileScopes(ctx context.Context, userID string, scopes []string) ([]string, error) {
	return nil, errNoJWTProfile
}

func (s *storage) Health(ctx context.Context) error { return nil }

// logoutKey carries the browser's sign-out into TerminateSessionFromRequest,
// which op calls only once the logout request is valid.
type logoutKey struct{}

// TerminateSessionFromRequest signs the browser out when the request
// carries an ID token veil issued (id_token_hint): without one, anyone's
// page could sign a visitor out, so the browser goes to veil's account page,
// whose sign-out button asks the person herself.
func (s *storage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	if req.IDTokenHintClaims == nil {
		return s.accountPage, nil
	}
	if signOut, ok := ctx.Value(logoutKey{}).(func() error); ok {
		if err := signOut(); err != nil {
			if veil.ErrorCode(err) == veil.EUNAVAILABLE {
				return "", s.fault(ctx, "signing out", err)
			}
			return "", oidc.ErrServerError().WithDescription("The service is temporarily unavailable.")
		}
	}
	return req.RedirectURI, nil
}

// scopesCovered reports whether granted holds every scope of asked.
func scopesCovered(granted, asked []string) bool {
	for _, s := range asked {
		if !slices.Contains(granted, s) {
			return false
		}
	}
	return true
}
