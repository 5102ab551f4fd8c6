-- Sessions of accounts that live elsewhere: with store.driver = "ldap" the
-- accounts are directory entries, and a session's account_id is an
-- entryUUID with no row in accounts. The foreign key to accounts goes;
-- DeleteAccount deletes an account's sessions itself, as it always has.
--
-- SQLite cannot drop a constraint, so the table is rebuilt (the procedure
-- of https://www.sqlite.org/lang_altertable.html#otheralter). Nothing
-- refers to sessions, so foreign_keys may stay on while it is dropped.

CREATE TABLE sessions_new (
	id_hash      BLOB    NOT NULL PRIMARY KEY,  -- SHA-256 of the token
	account_id   TEXT    NOT NULL,              -- a local account's ID, or a directory entry's entryUUID
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	client_addr  TEXT    NOT NULL DEFAULT '',
	user_agent   TEXT    NOT NULL DEFAULT ''
) STRICT;

INSERT INTO sessions_new (id_hash, account_id, created_at, last_seen_at, expires_at, client_addr, user_agent)
	SELECT id_hash, account_id, created_at, last_seen_at, expires_at, client_addr, user_agent FROM sessions;

DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;

CREATE INDEX sessions_account_created ON sessions (account_id, created_at);
CREATE INDEX sessions_created ON sessions (created_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);
