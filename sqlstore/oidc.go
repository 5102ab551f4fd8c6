package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/veil-id/veil"
)

// The OpenID Provider's tables (migration 0007). The store keeps what the
// provider gives it; it never sees a client secret, code or refresh token in
// the clear, nor a signing key unencrypted.

var _ veil.OIDCStore = (*DB)(nil)

// joinList stores a list of strings that never contain a newline
// (redirect URIs and scopes are checked before they get here).
func joinList(l []string) string { return strings.Join(l, "\n") }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// microsOrZero stores the zero time as 0, so "not yet" reads back as zero.
func microsOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return toMicros(t)
}

func timeOrZero(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return fromMicros(us)
}

const clientColumns = `id, name, secret_hash, redirect_uris, post_logout_redirect_uris, public, first_party, allow_email, public_subject, sector, signing_algorithm, created_at, jwks`

// CreateClient stores c; ECONFLICT if its ID is taken.
func (db *DB) CreateClient(ctx context.Context, c *veil.OIDCClient) error {
	if c.ID == "" || len(c.RedirectURIs) == 0 {
		return veil.Errorf(veil.EINVALID, "A client needs an ID and a redirect URI.")
	}
	_, err := db.exec(ctx, db.sql, `INSERT INTO oidc_clients (`+clientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, c.SecretHash, joinList(c.RedirectURIs), joinList(c.PostLogoutRedirectURIs),
		c.Public, c.FirstParty, c.AllowEmail, c.PublicSubject, c.Sector, c.SigningAlgorithm, toMicros(c.CreatedAt), string(c.JWKS))
	if db.isUniqueViolation(err) {
		return veil.Errorf(veil.ECONFLICT, "A client with this ID already exists.")
	} else if err != nil {
		return fmt.Errorf("sqlstore: creating a client: %w", err)
	}
	return nil
}

func scanClient(s scanner) (*veil.OIDCClient, error) {
	var c veil.OIDCClient
	var redirects, logouts, jwks string
	var created int64
	if err := s.Scan(&c.ID, &c.Name, &c.SecretHash, &redirects, &logouts, &c.Public, &c.FirstParty, &c.AllowEmail, &c.PublicSubject, &c.Sector, &c.SigningAlgorithm, &created, &jwks); err != nil {
		return nil, err
	}
	if jwks != "" {
		c.JWKS = []byte(jwks)
	}
	c.RedirectURIs, c.PostLogoutRedirectURIs, c.CreatedAt = splitList(redirects), splitList(logouts), fromMicros(created)
	return &c, nil
}

// FindClient returns the client with id, or ENOTFOUND.
func (db *DB) FindClient(ctx context.Context, id string) (*veil.OIDCClient, error) {
	c, err := scanClient(db.queryRow(ctx, db.sql, `SELECT `+clientColumns+` FROM oidc_clients WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, veil.Errorf(veil.ENOTFOUND, "No such client.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: finding a client: %w", err)
	}
	return c, nil
}

// ListClients returns every stored client ordered by ID.
func (db *DB) ListClients(ctx context.Context) ([]*veil.OIDCClient, error) {
	rows, err := db.query(ctx, db.sql, `SELECT `+clientColumns+` FROM oidc_clients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing clients: %w", err)
	}
	defer rows.Close()
	var list []*veil.OIDCClient
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: listing clients: %w", err)
		}
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: listing clients: %w", err)
	}
	return list, nil
}

// DeleteClient removes a client with its requests, tokens and consents;
// ENOTFOUND if there is none.
func (db *DB) DeleteClient(ctx context.Context, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `DELETE FROM oidc_clients WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("sqlstore: deleting a client: %w", err)
		}
		if n, err := rowsAffected(res); err != nil {
			return err
		} else if n == 0 {
			return veil.Errorf(veil.ENOTFOUND, "No such client.")
		}
		for _, table := range []string{"oidc_auth_requests", "oidc_access_tokens", "oidc_refresh_tokens", "oidc_consents", "oidc_used_assertions"} {
			if _, err := db.exec(ctx, tx, `DELETE FROM `+table+` WHERE client_id = ?`, id); err != nil {
				return fmt.Errorf("sqlstore: deleting a client's %s: %w", table, err)
			}
		}
		return nil
	})
}

// ReplaceClientSecret sets the secret hash of a client; ENOTFOUND.
func (db *DB) ReplaceClientSecret(ctx context.Context, id string, hash []byte) error {
	res, err := db.exec(ctx, db.sql, `UPDATE oidc_clients SET secret_hash = ? WHERE id = ?`, hash, id)
	if err != nil {
		return fmt.Errorf("sqlstore: replacing a client secret: %w", err)
	}
	if n, err := rowsAffected(res); err != nil {
		return err
	} else if n == 0 {
		return veil.Errorf(veil.ENOTFOUND, "No such client.")
	}
	return nil
}

// authRequestParams is what an auth request keeps of its parameters, as
// JSON: they are written once and read whole.
type authRequestParams struct {
	RedirectURI         string   `json:"redirect_uri"`
	State               string   `json:"state,omitempty"`
	Nonce               string   `json:"nonce,omitempty"`
	Scopes              []string `json:"scopes"`
	ResponseType        string   `json:"response_type"`
	ResponseMode        string   `json:"response_mode,omitempty"`
	CodeChallenge       string   `json:"code_challenge,omitempty"`
	CodeChallengeMethod string   `json:"code_challenge_method,omitempty"`
	Prompt              []string `json:"prompt,omitempty"`
	MaxAge              int64    `json:"max_age"`
	HintSubject         string   `json:"hint_subject,omitempty"`
}

const authRequestColumns = `id, client_id, params, created_at, expires_at, account_id, auth_time, amr, done, code_used`

// CreateAuthRequest stores r.
func (db *DB) CreateAuthRequest(ctx context.Context, r *veil.OIDCAuthRequest) error {
	params, err := json.Marshal(authRequestParams{
		RedirectURI: r.RedirectURI, State: r.State, Nonce: r.Nonce, Scopes: r.Scopes,
		ResponseType: r.ResponseType, ResponseMode: r.ResponseMode,
		CodeChallenge: r.CodeChallenge, CodeChallengeMethod: r.CodeChallengeMethod,
		Prompt: r.Prompt, MaxAge: r.MaxAge, HintSubject: r.HintSubject,
	})
	if err != nil {
		return fmt.Errorf("sqlstore: encoding an auth request: %w", err)
	}
	_, err = db.exec(ctx, db.sql, `INSERT INTO oidc_auth_requests (`+authRequestColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.ClientID, clientText(string(params)), toMicros(r.CreatedAt), toMicros(r.ExpiresAt),
		r.AccountID, microsOrZero(r.AuthTime), joinList(r.AMR), r.Done, r.CodeUsed)
	if db.isUniqueViolation(err) {
		return veil.Errorf(veil.ECONFLICT, "An auth request with this ID already exists.")
	} else if err != nil {
		return fmt.Errorf("sqlstore: creating an auth request: %w", err)
	}
	return nil
}

func scanAuthRequest(s scanner) (*veil.OIDCAuthRequest, error) {
	var r veil.OIDCAuthRequest
	var params, amr string
	var created, expires, authTime int64
	if err := s.Scan(&r.ID, &r.ClientID, &params, &created, &expires, &r.AccountID, &authTime, &amr, &r.Done, &r.CodeUsed); err != nil {
		return nil, err
	}
	var p authRequestParams
	if err := json.Unmarshal([]byte(params), &p); err != nil {
		return nil, fmt.Errorf("decoding the parameters: %w", err)
	}
	r.RedirectURI, r.State, r.Nonce, r.Scopes = p.RedirectURI, p.State, p.Nonce, p.Scopes
	r.ResponseType, r.ResponseMode = p.ResponseType, p.ResponseMode
	r.CodeChallenge, r.CodeChallengeMethod = p.CodeChallenge, p.CodeChallengeMethod
	r.Prompt, r.MaxAge, r.HintSubject = p.Prompt, p.MaxAge, p.HintSubject
	r.CreatedAt, r.ExpiresAt, r.AuthTime, r.AMR = fromMicros(created), fromMicros(expires), timeOrZero(authTime), splitList(amr)
	return &r, nil
}

// FindAuthRequest returns the request with id, or ENOTFOUND.
func (db *DB) FindAuthRequest(ctx context.Context, id string) (*veil.OIDCAuthRequest, error) {
	r, err := scanAuthRequest(db.queryRow(ctx, db.sql, `SELECT `+authRequestColumns+` FROM oidc_auth_requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, veil.Errorf(veil.ENOTFOUND, "No such auth request.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: finding an auth request: %w", err)
	}
	return r, nil
}

// IssueAuthCode records who signed in and the hash of the code, in one
// conditional update: a request gets one code.
func (db *DB) IssueAuthCode(ctx context.Context, id, accountID string, authTime time.Time, amr []string, codeHash []byte) error {
	res, err := db.exec(ctx, db.sql, `UPDATE oidc_auth_requests SET account_id = ?, auth_time = ?, amr = ?, done = ?, code_hash = ? WHERE id = ? AND code_hash IS NULL`,
		accountID, microsOrZero(authTime), joinList(amr), true, codeHash, id)
	return db.changedOne(res, err, "issuing an auth code", "No auth request without a code has this ID.")
}

// changedOne turns the result of an update of one row into ENOTFOUND when
// it changed none.
func (db *DB) changedOne(res sql.Result, err error, doing, notFound string) error {
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", doing, err)
	}
	if n, err := rowsAffected(res); err != nil {
		return err
	} else if n == 0 {
		return veil.Errorf(veil.ENOTFOUND, "%s", notFound)
	}
	return nil
}

// FindAuthRequestByCode returns the request of a code, used or not, or
// ENOTFOUND.
func (db *DB) FindAuthRequestByCode(ctx context.Context, codeHash []byte) (*veil.OIDCAuthRequest, error) {
	r, err := scanAuthRequest(db.queryRow(ctx, db.sql, `SELECT `+authRequestColumns+` FROM oidc_auth_requests WHERE code_hash = ?`, codeHash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, veil.Errorf(veil.ENOTFOUND, "No such code.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: finding an auth request by code: %w", err)
	}
	return r, nil
}

// RedeemAuthCode marks an unused code used and stores the tokens it
// grants, in one transaction whose conditional update decides between
// concurrent callers.
func (db *DB) RedeemAuthCode(ctx context.Context, codeHash []byte, access *veil.OIDCAccessToken, refresh *veil.OIDCRefreshToken) error {
	if len(codeHash) == 0 {
		return veil.Errorf(veil.ENOTFOUND, "No such code.")
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE oidc_auth_requests SET code_used = ? WHERE code_hash = ? AND code_used = ?`, true, codeHash, false)
		if err := db.changedOne(res, err, "redeeming an auth code", "No such code."); err != nil {
			return err
		}
		if refresh != nil {
			if err := db.insertRefreshToken(ctx, tx, refresh); err != nil {
				return err
			}
		}
		return db.insertAccessToken(ctx, tx, access)
	})
}

// DeleteAuthRequest removes a request whose code was not used; no error
// if it is gone.
func (db *DB) DeleteAuthRequest(ctx context.Context, id string) error {
	if _, err := db.exec(ctx, db.sql, `DELETE FROM oidc_auth_requests WHERE id = ? AND code_used = ?`, id, false); err != nil {
		return fmt.Errorf("sqlstore: deleting an auth request: %w", err)
	}
	return nil
}

const accessTokenColumns = `id, client_id, account_id, subject, scopes, family, auth_time, amr, expires_at`

// CreateAccessToken stores t.
func (db *DB) CreateAccessToken(ctx context.Context, t *veil.OIDCAccessToken) error {
	return db.insertAccessToken(ctx, db.sql, t)
}

func (db *DB) insertAccessToken(ctx context.Context, q queryer, t *veil.OIDCAccessToken) error {
	_, err := db.exec(ctx, q, `INSERT INTO oidc_access_tokens (`+accessTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.ClientID, t.AccountID, t.Subject, joinList(t.Scopes), t.Family, microsOrZero(t.AuthTime), joinList(t.AMR), toMicros(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlstore: creating an access token: %w", err)
	}
	return nil
}

// FindAccessToken returns the access token with id, or ENOTFOUND.
func (db *DB) FindAccessToken(ctx context.Context, id string) (*veil.OIDCAccessToken, error) {
	var t veil.OIDCAccessToken
	var scopes, amr string
	var authTime, expires int64
	err := db.queryRow(ctx, db.sql, `SELECT `+accessTokenColumns+` FROM oidc_access_tokens WHERE id = ?`, id).
		Scan(&t.ID, &t.ClientID, &t.AccountID, &t.Subject, &scopes, &t.Family, &authTime, &amr, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, veil.Errorf(veil.ENOTFOUND, "No such access token.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: finding an access token: %w", err)
	}
	t.Scopes, t.AMR, t.AuthTime, t.ExpiresAt = splitList(scopes), splitList(amr), timeOrZero(authTime), fromMicros(expires)
	return &t, nil
}

// DeleteAccessToken removes one access token; no error if it is gone.
func (db *DB) DeleteAccessToken(ctx context.Context, id string) error {
	if _, err := db.exec(ctx, db.sql, `DELETE FROM oidc_access_tokens WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlstore: deleting an access token: %w", err)
	}
	return nil
}

const refreshTokenColumns = `hash, family, client_id, account_id, subject, scopes, auth_time, amr, created_at, expires_at, used_at`

func (db *DB) insertRefreshToken(ctx context.Context, q queryer, t *veil.OIDCRefreshToken) error {
	_, err := db.exec(ctx, q, `INSERT INTO oidc_refresh_tokens (`+refreshTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, t.Family, t.ClientID, t.AccountID, t.Subject, joinList(t.Scopes), microsOrZero(t.AuthTime), joinList(t.AMR),
		toMicros(t.CreatedAt), toMicros(t.ExpiresAt), microsOrZero(t.UsedAt))
	if db.isUniqueViolation(err) {
		return veil.Errorf(veil.ECONFLICT, "A refresh token with this hash already exists.")
	} else if err != nil {
		return fmt.Errorf("sqlstore: creating a refresh token: %w", err)
	}
	return nil
}

// CreateRefreshToken stores the first token of a family.
func (db *DB) CreateRefreshToken(ctx context.Context, t *veil.OIDCRefreshToken) error {
	return db.insertRefreshToken(ctx, db.sql, t)
}

// FindRefreshToken returns the token with hash, used or not, or ENOTFOUND.
func (db *DB) FindRefreshToken(ctx context.Context, hash []byte) (*veil.OIDCRefreshToken, error) {
	var t veil.OIDCRefreshToken
	var scopes, amr string
	var authTime, created, expires, used int64
	err := db.queryRow(ctx, db.sql, `SELECT `+refreshTokenColumns+` FROM oidc_refresh_tokens WHERE hash = ?`, hash).
		Scan(&t.Hash, &t.Family, &t.ClientID, &t.AccountID, &t.Subject, &scopes, &authTime, &amr, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, veil.Errorf(veil.ENOTFOUND, "No such refresh token.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: finding a refresh token: %w", err)
	}
	t.Scopes, t.AMR, t.AuthTime = splitList(scopes), splitList(amr), timeOrZero(authTime)
	t.CreatedAt, t.ExpiresAt, t.UsedAt = fromMicros(created), fromMicros(expires), timeOrZero(used)
	return &t, nil
}

// RotateRefreshToken marks the old token used and stores next with its
// access token, in one transaction; the conditional update decides between
// concurrent rotations.
func (db *DB) RotateRefreshToken(ctx context.Context, oldHash []byte, next *veil.OIDCRefreshToken, access *veil.OIDCAccessToken, now time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE oidc_refresh_tokens SET used_at = ? WHERE hash = ? AND used_at = 0`, toMicros(now), oldHash)
		if err != nil {
			return fmt.Errorf("sqlstore: rotating a refresh token: %w", err)
		}
		if n, err := rowsAffected(res); err != nil {
			return err
		} else if n == 0 {
			var one int
			err := db.queryRow(ctx, tx, `SELECT 1 FROM oidc_refresh_tokens WHERE hash = ?`, oldHash).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return veil.Errorf(veil.ENOTFOUND, "No such refresh token.")
			} else if err != nil {
				return fmt.Errorf("sqlstore: rotating a refresh token: %w", err)
			}
			return veil.Errorf(veil.ECONFLICT, "The refresh token was used already.")
		}
		if err := db.insertRefreshToken(ctx, tx, next); err != nil {
			return err
		}
		return db.insertAccessToken(ctx, tx, access)
	})
}

// RevokeTokenFamily removes every refresh and access token of a family.
func (db *DB) RevokeTokenFamily(ctx context.Context, family string) error {
	if family == "" {
		return veil.Errorf(veil.EINVALID, "No family given.")
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"oidc_refresh_tokens", "oidc_access_tokens"} {
			if _, err := db.exec(ctx, tx, `DELETE FROM `+table+` WHERE family = ?`, family); err != nil {
				return fmt.Errorf("sqlstore: revoking a token family: %w", err)
			}
		}
		return nil
	})
}

// RevokeGrants removes every refresh and access token an account holds for
// a client (every client when clientID is "").
func (db *DB) RevokeGrants(ctx context.Context, accountID, clientID string) (int, error) {
	where, args := `account_id = ?`, []any{accountID}
	if clientID != "" {
		where, args = where+` AND client_id = ?`, append(args, clientID)
	}
	var families int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.queryRow(ctx, tx, `SELECT COUNT(DISTINCT family) FROM oidc_refresh_tokens WHERE `+where, args...).Scan(&families); err != nil {
			return fmt.Errorf("sqlstore: counting grants: %w", err)
		}
		for _, table := range []string{"oidc_refresh_tokens", "oidc_access_tokens"} {
			if _, err := db.exec(ctx, tx, `DELETE FROM `+table+` WHERE `+where, args...); err != nil {
				return fmt.Errorf("sqlstore: revoking grants: %w", err)
			}
		}
		return nil
	})
	return families, err
}

// CreateSigningKey stores k.
func (db *DB) CreateSigningKey(ctx context.Context, k *veil.OIDCSigningKey) error {
	_, err := db.exec(ctx, db.sql, `INSERT INTO oidc_signing_keys (id, algorithm, sealed, created_at, retired_at) VALUES (?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, k.Sealed, toMicros(k.CreatedAt), microsOrZero(k.RetiredAt))
	if db.isUniqueViolation(err) {
		return veil.Errorf(veil.ECONFLICT, "A signing key with this ID already exists.")
	} else if err != nil {
		return fmt.Errorf("sqlstore: creating a signing key: %w", err)
	}
	return nil
}

// ListSigningKeys returns every signing key, newest first.
func (db *DB) ListSigningKeys(ctx context.Context) ([]*veil.OIDCSigningKey, error) {
	rows, err := db.query(ctx, db.sql, `SELECT id, algorithm, sealed, created_at, retired_at FROM oidc_signing_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing signing keys: %w", err)
	}
	defer rows.Close()
	var list []*veil.OIDCSigningKey
	for rows.Next() {
		var k veil.OIDCSigningKey
		var created, retired int64
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.Sealed, &created, &retired); err != nil {
			return nil, fmt.Errorf("sqlstore: listing signing keys: %w", err)
		}
		k.CreatedAt, k.RetiredAt = fromMicros(created), timeOrZero(retired)
		list = append(list, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: listing signing keys: %w", err)
	}
	return list, nil
}

// RetireSigningKeys marks every active key of alg but keep as retired at
// now.
func (db *DB) RetireSigningKeys(ctx context.Context, alg, keep string, now time.Time) error {
	if _, err := db.exec(ctx, db.sql, `UPDATE oidc_signing_keys SET retired_at = ? WHERE retired_at = 0 AND algorithm = ? AND id <> ?`, toMicros(now), alg, keep); err != nil {
		return fmt.Errorf("sqlstore: retiring signing keys: %w", err)
	}
	return nil
}

// DeleteSigningKeysRetiredBefore removes keys retired before t.
func (db *DB) DeleteSigningKeysRetiredBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := db.exec(ctx, db.sql, `DELETE FROM oidc_signing_keys WHERE retired_at <> 0 AND retired_at < ?`, toMicros(t))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: deleting retired signing keys: %w", err)
	}
	return rowsAffected(res)
}

// SaveConsent records the scopes an account consented to for a client.
func (db *DB) SaveConsent(ctx context.Context, accountID, clientID string, scopes []string, now time.Time) error {
	_, err := db.exec(ctx, db.sql, `
		INSERT INTO oidc_consents (account_id, client_id, scopes, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at`,
		accountID, clientID, joinList(scopes), toMicros(now))
	if err != nil {
		return fmt.Errorf("sqlstore: saving consent: %w", err)
	}
	return nil
}

// FindConsent returns the scopes an account consented to for a client, or
// nil.
func (db *DB) FindConsent(ctx context.Context, accountID, clientID string) ([]string, error) {
	var scopes string
	err := db.queryRow(ctx, db.sql, `SELECT scopes FROM oidc_consents WHERE account_id = ? AND client_id = ?`, accountID, clientID).Scan(&scopes)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: finding consent: %w", err)
	}
	return splitList(scopes), nil
}

// ClaimAssertion records a client assertion's jti as used until it
// expires; ECONFLICT if it was used already. The primary key decides
// between concurrent claims.
func (db *DB) ClaimAssertion(ctx context.Context, clientID, jti string, expiresAt time.Time) error {
	_, err := db.exec(ctx, db.sql, `INSERT INTO oidc_used_assertions (client_id, jti, expires_at) VALUES (?, ?, ?)`, clientID, clientText(jti), toMicros(expiresAt))
	if db.isUniqueViolation(err) {
		return veil.Errorf(veil.ECONFLICT, "The assertion was used already.")
	} else if err != nil {
		return fmt.Errorf("sqlstore: claiming an assertion: %w", err)
	}
	return nil
}

// DeleteExpiredOIDC removes expired auth requests, tokens and used
// assertions.
func (db *DB) DeleteExpiredOIDC(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for _, table := range []string{"oidc_auth_requests", "oidc_access_tokens", "oidc_refresh_tokens", "oidc_used_assertions"} {
		res, err := db.exec(ctx, db.sql, `DELETE FROM `+table+` WHERE expires_at < ?`, toMicros(now))
		if err != nil {
			return total, fmt.Errorf("sqlstore: deleting expired %s: %w", table, err)
		}
		n, err := rowsAffected(res)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}
