-- The hash of an upload's promotion token (the token itself is never stored),
-- and the index behind per-account quotas. The same SQL in both dialects.

ALTER TABLE files ADD COLUMN promotion_token_hash TEXT;
CREATE INDEX files_owner ON files (owner_account_id);
