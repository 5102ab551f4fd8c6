-- An outbox job whose subject is a typed address (a recovery request, often
-- for somebody who has no account) keeps the address only while the job
-- needs it. subject_hash holds the address's keyed hash (the one the audit
-- log records); once the job is done or dead the subject is erased and the
-- hash stays.
--
-- Jobs that ended before this migration have no hash (the key is not
-- available to SQL): their addresses are erased without one.

ALTER TABLE outbox ADD COLUMN subject_hash TEXT NOT NULL DEFAULT '';

UPDATE outbox SET subject = '' WHERE kind = 'recover' AND state IN ('done', 'dead');
