-- Room settings the room core needs (description, custom scene URL, public
-- listing, the creator-assignment token's hash) and the file a pinned
-- object shows (PostgreSQL). Existing rows get the defaults of a new room.

ALTER TABLE rooms
    ADD COLUMN description text NOT NULL DEFAULT '',
    ADD COLUMN scene_url text,
    ADD COLUMN public boolean NOT NULL DEFAULT false,
    ADD COLUMN creator_token_hash text;

-- list_public_rooms: the public rooms that may be entered, newest first.
CREATE INDEX rooms_public ON rooms (created_at DESC) WHERE public AND entry_mode <> 'deny';

-- A link to an uploaded file, not checked against files (the file store owns that rule).
ALTER TABLE pinned_objects ADD COLUMN file_id text;

-- json, not jsonb: jsonb rewrites what it keeps (1e23 comes back as the int
-- 10**23, object keys reordered), where SQLite and memory hand back the
-- document as written. Nothing queries inside it, so the text is kept as is.
ALTER TABLE pinned_objects ALTER COLUMN gltf TYPE json USING gltf::json;
