-- The unused links of sign-in by e-mail (PostgreSQL): the SHA-256 of each
-- token, never the token, and the hash of the address it was sent to, never
-- the address.

CREATE TABLE login_tokens (
    token_hash text PRIMARY KEY,
    email_hash text NOT NULL,
    topic text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

-- delete_expired_login_tokens: the oldest expiries first.
CREATE INDEX login_tokens_expiry ON login_tokens (expires_at);
