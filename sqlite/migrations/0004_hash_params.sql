-- The parameter set of each password hash (veil.HashParams: "$argon2id$v=19$m=…,t=…,p=…",
-- "$2b$12", or '' for a malformed hash), so that the time floor can learn
-- the distinct costs a sign-in may meet from the index alone. NULL means not
-- computed yet: the store fills those rows in before it answers.
ALTER TABLE accounts ADD COLUMN hash_params TEXT;
CREATE INDEX accounts_hash_params ON accounts (hash_params);
