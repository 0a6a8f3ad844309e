-- Rooms, accounts, roles, pinned objects and file metadata (PostgreSQL).

CREATE TABLE rooms (
    hub_id bigint PRIMARY KEY,
    hub_sid text NOT NULL UNIQUE,
    name text NOT NULL,
    slug text NOT NULL,
    scene_id text,
    entry_mode text NOT NULL CHECK (entry_mode IN ('allow', 'invite', 'deny')),
    member_permissions integer NOT NULL,
    room_size integer NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE accounts (
    account_id bigint PRIMARY KEY,
    email_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);

CREATE TABLE room_roles (
    hub_id bigint NOT NULL REFERENCES rooms (hub_id) ON DELETE CASCADE,
    account_id bigint NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('owner', 'creator', 'moderator')),
    PRIMARY KEY (hub_id, account_id, role)
);
CREATE INDEX room_roles_account ON room_roles (account_id);

CREATE TABLE pinned_objects (
    hub_id bigint NOT NULL REFERENCES rooms (hub_id) ON DELETE CASCADE,
    object_id text NOT NULL,
    gltf jsonb NOT NULL,
    created_by bigint REFERENCES accounts (account_id) ON DELETE SET NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (hub_id, object_id)
);

CREATE TABLE files (
    file_id text PRIMARY KEY,
    owner_account_id bigint REFERENCES accounts (account_id) ON DELETE SET NULL,
    content_type text NOT NULL,
    size bigint NOT NULL,
    promoted boolean NOT NULL DEFAULT false,
    expires_at timestamptz
);
CREATE INDEX files_expiry ON files (expires_at) WHERE NOT promoted;
