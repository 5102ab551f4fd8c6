-- Groups of accounts, for forward-auth's access rules. Names are
-- normalized by the core (lower-case ASCII) and compared byte for byte
-- ("C", so ORDER BY is the same as on SQLite). Deleting an account takes it
-- out of its groups.

CREATE TABLE account_groups (
	account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	group_name TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (account_id, group_name)
);

CREATE INDEX account_groups_name ON account_groups (group_name);
