-- The OpenID Provider (package oidc): clients, authorization requests and
-- their codes, access and refresh tokens, signing keys and consent, in the
-- database so that several instances complete each other's flows. Lists
-- (redirect URIs, scopes) are newline-separated text. Secrets, codes and
-- refresh tokens are stored as SHA-256 hashes; signing keys encrypted.

CREATE TABLE oidc_clients (
	id                        TEXT    NOT NULL PRIMARY KEY,
	name                      TEXT    NOT NULL,
	secret_hash               BLOB,
	redirect_uris             TEXT    NOT NULL,
	post_logout_redirect_uris TEXT    NOT NULL DEFAULT '',
	public                    INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1)),
	first_party               INTEGER NOT NULL DEFAULT 0 CHECK (first_party IN (0, 1)),
	allow_email               INTEGER NOT NULL DEFAULT 0 CHECK (allow_email IN (0, 1)),
	public_subject            INTEGER NOT NULL DEFAULT 0 CHECK (public_subject IN (0, 1)),
	sector                    TEXT    NOT NULL DEFAULT '',
	signing_algorithm         TEXT    NOT NULL DEFAULT '',  -- '' for the provider's default
	created_at                INTEGER NOT NULL
) STRICT;

CREATE TABLE oidc_auth_requests (
	id                    TEXT    NOT NULL PRIMARY KEY,
	client_id             TEXT    NOT NULL,
	params                TEXT    NOT NULL,  -- the request's parameters, JSON
	created_at            INTEGER NOT NULL,
	expires_at            INTEGER NOT NULL,
	account_id            TEXT    NOT NULL DEFAULT '',
	auth_time             INTEGER NOT NULL DEFAULT 0,
	amr                   TEXT    NOT NULL DEFAULT '',
	done                  INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
	code_hash             BLOB    UNIQUE,
	code_used             INTEGER NOT NULL DEFAULT 0 CHECK (code_used IN (0, 1))
) STRICT;

CREATE INDEX oidc_auth_requests_expires ON oidc_auth_requests (expires_at);
CREATE INDEX oidc_auth_requests_client ON oidc_auth_requests (client_id);

CREATE TABLE oidc_access_tokens (
	id         TEXT    NOT NULL PRIMARY KEY,
	client_id  TEXT    NOT NULL,
	account_id TEXT    NOT NULL,
	subject    TEXT    NOT NULL,
	scopes     TEXT    NOT NULL,
	family     TEXT    NOT NULL DEFAULT '',
	auth_time  INTEGER NOT NULL,
	amr        TEXT    NOT NULL DEFAULT '',
	expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX oidc_access_tokens_family ON oidc_access_tokens (family);
CREATE INDEX oidc_access_tokens_account ON oidc_access_tokens (account_id, client_id);
CREATE INDEX oidc_access_tokens_expires ON oidc_access_tokens (expires_at);

CREATE TABLE oidc_refresh_tokens (
	hash       BLOB    NOT NULL PRIMARY KEY,  -- SHA-256 of the token
	family     TEXT    NOT NULL,
	client_id  TEXT    NOT NULL,
	account_id TEXT    NOT NULL,
	subject    TEXT    NOT NULL,
	scopes     TEXT    NOT NULL,
	auth_time  INTEGER NOT NULL,
	amr        TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX oidc_refresh_tokens_family ON oidc_refresh_tokens (family);
CREATE INDEX oidc_refresh_tokens_account ON oidc_refresh_tokens (account_id, client_id);
CREATE INDEX oidc_refresh_tokens_expires ON oidc_refresh_tokens (expires_at);

CREATE TABLE oidc_signing_keys (
	id         TEXT    NOT NULL PRIMARY KEY,
	algorithm  TEXT    NOT NULL,
	sealed     BLOB    NOT NULL,  -- the private key, encrypted
	created_at INTEGER NOT NULL,
	retired_at INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE oidc_consents (
	account_id TEXT    NOT NULL,
	client_id  TEXT    NOT NULL,
	scopes     TEXT    NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (account_id, client_id)
) STRICT;
