-- Sessions of accounts that live elsewhere: with store.driver = "ldap" the
-- accounts are directory entries, and a session's account_id is an
-- entryUUID with no row in accounts. The foreign key to accounts goes;
-- DeleteAccount deletes an account's sessions itself, as it always has.
--
-- The constraint is found by what it is, not by the name PostgreSQL gave
-- it (sessions_account_id_fkey), in case a database named it otherwise.

DO $$
DECLARE
	c name;
BEGIN
	FOR c IN
		SELECT conname FROM pg_constraint
		WHERE conrelid = 'sessions'::regclass AND contype = 'f' AND confrelid = 'accounts'::regclass
	LOOP
		EXECUTE format('ALTER TABLE sessions DROP CONSTRAINT %I', c);
	END LOOP;
END
$$;

COMMENT ON COLUMN sessions.account_id IS 'a local account''s ID, or a directory entry''s entryUUID';
