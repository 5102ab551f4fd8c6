-- veil's schema on PostgreSQL. Times are microseconds since the Unix epoch
-- in BIGINT columns; package sqlstore explains why.

CREATE TABLE accounts (
	id            TEXT    NOT NULL PRIMARY KEY,
	-- Normalized, and compared byte for byte: "C" makes ORDER BY the same as
	-- on SQLite whatever the server's locale, and keeps the unique index
	-- from ever treating two distinct identifiers as one.
	email         TEXT    COLLATE "C" NOT NULL UNIQUE,
	display_name  TEXT    NOT NULL DEFAULT '',
	password_hash TEXT    NOT NULL DEFAULT '',
	disabled      BOOLEAN NOT NULL DEFAULT FALSE,
	created_at    BIGINT  NOT NULL,
	updated_at    BIGINT  NOT NULL
);

CREATE TABLE sessions (
	id_hash      BYTEA  NOT NULL PRIMARY KEY,  -- SHA-256 of the token
	account_id   TEXT   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	created_at   BIGINT NOT NULL,
	last_seen_at BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	client_addr  TEXT   NOT NULL DEFAULT '',
	user_agent   TEXT   NOT NULL DEFAULT ''
);

CREATE INDEX sessions_account_created ON sessions (account_id, created_at);
CREATE INDEX sessions_created ON sessions (created_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

CREATE TABLE audit_events (
	id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- order of appending
	occurred_at     BIGINT NOT NULL,
	kind            TEXT   NOT NULL,
	outcome         TEXT   NOT NULL,
	reason          TEXT   NOT NULL DEFAULT '',
	identifier_hash TEXT   NOT NULL DEFAULT '',
	account_id      TEXT   NOT NULL DEFAULT '',  -- no foreign key: events outlive accounts
	client_addr     TEXT   NOT NULL DEFAULT ''
);

CREATE INDEX audit_events_occurred ON audit_events (occurred_at, id);

CREATE TABLE secrets (
	name       TEXT   NOT NULL PRIMARY KEY,
	value      BYTEA  NOT NULL,
	created_at BIGINT NOT NULL
);
