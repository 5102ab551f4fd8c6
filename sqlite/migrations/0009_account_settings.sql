-- What people change about their own accounts (issue 15): links that
-- confirm a new address or undo a change, and mailed sign-in codes. Only
-- hashes are kept: hash is the SHA-256 of the link's token, code_hash the
-- keyed hash of a sign-in code. email is the address a link is about (the
-- new one to confirm, the old one to go back to); '' for a sign-in code.

CREATE TABLE account_tokens (
	hash       BLOB    NOT NULL PRIMARY KEY,
	purpose    TEXT    NOT NULL,
	account_id TEXT    NOT NULL,
	email      TEXT    NOT NULL DEFAULT '',
	code_hash  BLOB    NOT NULL DEFAULT x'',
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
) STRICT;

CREATE INDEX account_tokens_account ON account_tokens (account_id, purpose);
CREATE INDEX account_tokens_expires ON account_tokens (expires_at);
