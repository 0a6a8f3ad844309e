-- Room settings the room core needs (description, custom scene URL, public
-- listing, the creator-assignment token's hash) and the file a pinned
-- object shows (SQLite). Existing rows get the defaults of a new room.

ALTER TABLE rooms ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN scene_url TEXT;
ALTER TABLE rooms ADD COLUMN public INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1));
ALTER TABLE rooms ADD COLUMN creator_token_hash TEXT;

-- list_public_rooms: the public rooms that may be entered, newest first.
CREATE INDEX rooms_public ON rooms (created_at) WHERE public = 1 AND entry_mode <> 'deny';

-- A link to an uploaded file, not checked against files (the file store owns that rule).
ALTER TABLE pinned_objects ADD COLUMN file_id TEXT;
