-- Rooms, accounts, roles, pinned objects and file metadata (SQLite).
-- Times are integer microseconds since the Unix epoch, UTC.

CREATE TABLE rooms (
    hub_id INTEGER PRIMARY KEY,
    hub_sid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    scene_id TEXT,
    entry_mode TEXT NOT NULL CHECK (entry_mode IN ('allow', 'invite', 'deny')),
    member_permissions INTEGER NOT NULL,
    room_size INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE accounts (
    account_id INTEGER PRIMARY KEY,
    email_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE room_roles (
    hub_id INTEGER NOT NULL REFERENCES rooms (hub_id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'creator', 'moderator')),
    PRIMARY KEY (hub_id, account_id, role)
);
CREATE INDEX room_roles_account ON room_roles (account_id);

CREATE TABLE pinned_objects (
    hub_id INTEGER NOT NULL REFERENCES rooms (hub_id) ON DELETE CASCADE,
    object_id TEXT NOT NULL,
    gltf TEXT NOT NULL,
    created_by INTEGER REFERENCES accounts (account_id) ON DELETE SET NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (hub_id, object_id)
);

CREATE TABLE files (
    file_id TEXT PRIMARY KEY,
    owner_account_id INTEGER REFERENCES accounts (account_id) ON DELETE SET NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    promoted INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER
);
CREATE INDEX files_expiry ON files (expires_at) WHERE promoted = 0;
