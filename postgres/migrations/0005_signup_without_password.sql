-- Sign-up takes only the address (issue 10.6): the password and display
-- name are chosen by whoever follows the mailed link, so a pending sign-up
-- no longer holds a password hash. The hashes of sign-ups still pending
-- were chosen by whoever typed the address — possibly not its owner — and
-- go with the column; their links stay good, and confirming one now asks
-- for the password.

ALTER TABLE pending_signups DROP COLUMN password_hash;
