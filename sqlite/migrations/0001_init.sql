-- veil's schema on SQLite. Times are microseconds since the Unix epoch, in
-- INTEGER columns (SQLite's integers are 64-bit; STRICT tables do not accept
-- the name BIGINT); package sqlstore explains why. STRICT makes SQLite refuse
-- a value of the wrong type instead of storing it.

CREATE TABLE accounts (
	id            TEXT    NOT NULL PRIMARY KEY,
	email         TEXT    NOT NULL UNIQUE,  -- normalized; BINARY collation: byte for byte
	display_name  TEXT    NOT NULL DEFAULT '',
	password_hash TEXT    NOT NULL DEFAULT '',
	disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
	id_hash      BLOB    NOT NULL PRIMARY KEY,  -- SHA-256 of the token
	account_id   TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	client_addr  TEXT    NOT NULL DEFAULT '',
	user_agent   TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX sessions_account_created ON sessions (account_id, created_at);
CREATE INDEX sessions_created ON sessions (created_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

CREATE TABLE audit_events (
	id              INTEGER NOT NULL PRIMARY KEY,  -- the rowid: order of appending
	occurred_at     INTEGER NOT NULL,
	kind            TEXT    NOT NULL,
	outcome         TEXT    NOT NULL,
	reason          TEXT    NOT NULL DEFAULT '',
	identifier_hash TEXT    NOT NULL DEFAULT '',
	account_id      TEXT    NOT NULL DEFAULT '',  -- no foreign key: events outlive accounts
	client_addr     TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX audit_events_occurred ON audit_events (occurred_at, id);

CREATE TABLE secrets (
	name       TEXT    NOT NULL PRIMARY KEY,
	value      BLOB    NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
