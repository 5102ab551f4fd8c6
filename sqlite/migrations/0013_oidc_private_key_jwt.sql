-- private_key_jwt client authentication (package oidc): a client's JSON
-- Web Key Set (public keys, configured, never fetched), and the assertions
-- already used, by client and jti, kept until they expire so that none is
-- accepted twice.

ALTER TABLE oidc_clients ADD COLUMN jwks TEXT NOT NULL DEFAULT '';

CREATE TABLE oidc_used_assertions (
	client_id  TEXT    NOT NULL,
	jti        TEXT    NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (client_id, jti)
) STRICT;

CREATE INDEX oidc_used_assertions_expires ON oidc_used_assertions (expires_at);
