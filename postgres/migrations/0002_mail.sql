-- Sign-up, recovery and their mail: pending sign-ups, mailed tokens, the
-- durable outbox and the development mailbox.

CREATE TABLE pending_signups (
	id            TEXT   NOT NULL PRIMARY KEY,
	email         TEXT   COLLATE "C" NOT NULL,  -- normalized; not unique: anyone may ask again
	password_hash TEXT   NOT NULL,
	created_at    BIGINT NOT NULL
);

CREATE INDEX pending_signups_created ON pending_signups (created_at);

CREATE TABLE tokens (
	hash       BYTEA  NOT NULL PRIMARY KEY,  -- SHA-256 of the mailed token
	purpose    TEXT   NOT NULL,
	account_id TEXT   NOT NULL DEFAULT '',
	signup_id  TEXT   NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at    BIGINT
);

CREATE INDEX tokens_account ON tokens (account_id, purpose);
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE outbox (
	id              BIGSERIAL NOT NULL PRIMARY KEY,
	kind            TEXT      NOT NULL,
	subject         TEXT      NOT NULL,
	state           TEXT      NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead')),
	attempts        INTEGER   NOT NULL DEFAULT 0,
	last_error      TEXT      NOT NULL DEFAULT '',
	created_at      BIGINT    NOT NULL,
	next_attempt_at BIGINT    NOT NULL,
	locked_until    BIGINT    NOT NULL DEFAULT 0
);

CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

CREATE TABLE dev_mail (
	id        BIGSERIAL NOT NULL PRIMARY KEY,
	recipient TEXT      NOT NULL,
	subject   TEXT      NOT NULL,
	text_body TEXT      NOT NULL,
	html_body TEXT      NOT NULL,
	sent_at   BIGINT    NOT NULL
);
