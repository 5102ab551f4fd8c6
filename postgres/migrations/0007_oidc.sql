-- The OpenID Provider (package oidc): clients, authorization requests and
-- their codes, access and refresh tokens, signing keys and consent, in the
-- database so that several instances complete each other's flows. Lists
-- (redirect URIs, scopes) are newline-separated text. Secrets, codes and
-- refresh tokens are stored as SHA-256 hashes; signing keys encrypted.

CREATE TABLE oidc_clients (
	id                        TEXT    NOT NULL PRIMARY KEY,
	name                      TEXT    NOT NULL,
	secret_hash               BYTEA,
	redirect_uris             TEXT    NOT NULL,
	post_logout_redirect_uris TEXT    NOT NULL DEFAULT '',
	public                    BOOLEAN NOT NULL DEFAULT FALSE,
	first_party               BOOLEAN NOT NULL DEFAULT FALSE,
	allow_email               BOOLEAN NOT NULL DEFAULT FALSE,
	public_subject            BOOLEAN NOT NULL DEFAULT FALSE,
	sector                    TEXT    NOT NULL DEFAULT '',
	signing_algorithm         TEXT    NOT NULL DEFAULT '',  -- '' for the provider's default
	created_at                BIGINT  NOT NULL
);

CREATE TABLE oidc_auth_requests (
	id                    TEXT    NOT NULL PRIMARY KEY,
	client_id             TEXT    NOT NULL,
	params                TEXT    NOT NULL,  -- the request's parameters, JSON
	created_at            BIGINT  NOT NULL,
	expires_at            BIGINT  NOT NULL,
	account_id            TEXT    NOT NULL DEFAULT '',
	auth_time             BIGINT  NOT NULL DEFAULT 0,
	amr                   TEXT    NOT NULL DEFAULT '',
	done                  BOOLEAN NOT NULL DEFAULT FALSE,
	code_hash             BYTEA   UNIQUE,
	code_used             BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE INDEX oidc_auth_requests_expires ON oidc_auth_requests (expires_at);
CREATE INDEX oidc_auth_requests_client ON oidc_auth_requests (client_id);

CREATE TABLE oidc_access_tokens (
	id         TEXT    NOT NULL PRIMARY KEY,
	client_id  TEXT    NOT NULL,
	account_id TEXT    NOT NULL,
	subject    TEXT    NOT NULL,
	scopes     TEXT    NOT NULL,
	family     TEXT    NOT NULL DEFAULT '',
	auth_time  BIGINT  NOT NULL,
	amr        TEXT    NOT NULL DEFAULT '',
	expires_at BIGINT  NOT NULL
);

CREATE INDEX oidc_access_tokens_family ON oidc_access_tokens (family);
CREATE INDEX oidc_access_tokens_account ON oidc_access_tokens (account_id, client_id);
CREATE INDEX oidc_access_tokens_expires ON oidc_access_tokens (expires_at);

CREATE TABLE oidc_refresh_tokens (
	hash       BYTEA   NOT NULL PRIMARY KEY,  -- SHA-256 of the token
	family     TEXT    NOT NULL,
	client_id  TEXT    NOT NULL,
	account_id TEXT    NOT NULL,
	subject    TEXT    NOT NULL,
	scopes     TEXT    NOT NULL,
	auth_time  BIGINT  NOT NULL,
	amr        TEXT    NOT NULL DEFAULT '',
	created_at BIGINT  NOT NULL,
	expires_at BIGINT  NOT NULL,
	used_at    BIGINT  NOT NULL DEFAULT 0
);

CREATE INDEX oidc_refresh_tokens_family ON oidc_refresh_tokens (family);
CREATE INDEX oidc_refresh_tokens_account ON oidc_refresh_tokens (account_id, client_id);
CREATE INDEX oidc_refresh_tokens_expires ON oidc_refresh_tokens (expires_at);

CREATE TABLE oidc_signing_keys (
	id         TEXT    NOT NULL PRIMARY KEY,
	algorithm  TEXT    NOT NULL,
	sealed     BYTEA   NOT NULL,  -- the private key, encrypted
	created_at BIGINT  NOT NULL,
	retired_at BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE oidc_consents (
	account_id TEXT    NOT NULL,
	client_id  TEXT    NOT NULL,
	scopes     TEXT    NOT NULL,
	updated_at BIGINT  NOT NULL,
	PRIMARY KEY (account_id, client_id)
);
