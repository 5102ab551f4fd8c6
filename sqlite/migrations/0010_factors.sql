-- Second factors. Keyed by account ID without a foreign key: with a
-- directory as the account store the accounts are not in this database,
-- and the factors are kept here all the same, keyed by the directory
-- entry's account ID. Deleting an account deletes its factors (the core
-- does it).

CREATE TABLE totp_factors (
	account_id    TEXT    NOT NULL PRIMARY KEY,
	sealed_secret BLOB    NOT NULL,  -- AES-256-GCM under the factor key, never the secret
	confirmed     INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),
	last_step     INTEGER NOT NULL DEFAULT 0,  -- the latest 30-second step whose code was used
	created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE recovery_codes (
	account_id TEXT    NOT NULL,
	code_hash  BLOB    NOT NULL,  -- keyed hash of the normalized code
	created_at INTEGER NOT NULL,
	PRIMARY KEY (account_id, code_hash)
) STRICT;

CREATE TABLE passkeys (
	id            TEXT    NOT NULL PRIMARY KEY,
	account_id    TEXT    NOT NULL,
	credential_id BLOB    NOT NULL UNIQUE,
	name          TEXT    NOT NULL,
	credential    BLOB    NOT NULL,  -- the WebAuthn credential record: public key, counter; nothing secret
	created_at    INTEGER NOT NULL,
	last_used_at  INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX passkeys_account ON passkeys (account_id, created_at);
