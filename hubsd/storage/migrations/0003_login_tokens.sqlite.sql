-- The unused links of sign-in by e-mail (SQLite): the SHA-256 of each token,
-- never the token, and the hash of the address it was sent to, never the
-- address. Times are integer microseconds since the Unix epoch, UTC.

CREATE TABLE login_tokens (
    token_hash TEXT PRIMARY KEY,
    email_hash TEXT NOT NULL,
    topic TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- delete_expired_login_tokens: the oldest expiries first.
CREATE INDEX login_tokens_expiry ON login_tokens (expires_at);
