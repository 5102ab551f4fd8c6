-- The language of the request that queued a job (a locale code such as
-- "de"; '' for English): its mail is written in the requester's language,
-- which depends on the request alone, never on the account.

ALTER TABLE outbox ADD COLUMN lang TEXT NOT NULL DEFAULT '';
