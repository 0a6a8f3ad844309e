"""
The interfaces between hubsd's core and its backends.

Every backend kind (storage, files, sfu, cluster) is an interface here, found at
start-up through a Twisted plugin (see ``hubsd.backends``). Each interface has at
least one real implementation and an in-memory one for tests, and every
implementation runs the same shared test suite (``verifyObject`` first).

All methods that may touch the disk or the network return Deferreds: callers in
the reactor thread never block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zope.interface import Attribute, Interface

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred


class IBackendPlugin(Interface):
    """
    A named backend factory, found with ``twisted.plugin.getPlugins``.

    The plugin module stays tiny: ``factory`` is a dotted name imported only
    when the backend is chosen, so an import error in an implementation is
    reported as a config error instead of silently hiding the plugin.
    """

    kind = Attribute("Which backend interface this builds: storage, files, sfu or cluster.")
    name = Attribute("The name used in the config, e.g. 'sqlite'.")
    description = Attribute("One line for humans.")
    factory = Attribute(
        "Dotted 'module:callable' path. The callable is called as "
        "factory(options, context) and returns a provider of the kind's interface."
    )
    options = Attribute("Tuple of hubsd.config.Option: the keys this backend adds to its section.")


class IBackend(Interface):
    """
    A backend's asynchronous life: started in dependency order, stopped in
    reverse. Every backend interface below extends it. Not Twisted's
    C{IService}: C{start} returns a Deferred, and L{hubsd.service.HubsdService}
    waits for it before it starts the next part.
    """

    def start() -> Deferred[None]:
        """
        Acquire resources (open files, connect, run migrations).

        @return: Deferred firing with None when ready, or failing with an
            exception whose ``str()`` is a one-line message for the operator.
        """

    def stop() -> Deferred[None]:
        """
        Release resources, flushing pending writes first.

        @return: Deferred firing with None.
        """


class IBlobWriter(Interface):
    """
    One blob being written. Writes are applied in order; nothing is visible
    under the blob's id before L{commit} has fired, and an aborted (or
    crashed) write leaves nothing under it.
    """

    pending = Attribute("Bytes handed to write() that are not on their way to storage yet (int).")

    def write(data):
        """Append C{data} (bytes). Deferred[None], fired when it is written."""

    def flushed():
        """Deferred[None], fired when every write before it is done (never fails)."""

    def commit():
        """
        Make the blob durable and visible under its id (written to a
        temporary name, synced, renamed). Deferred[None]; fails with
        L{hubsd.files.errors.FileStoreUnavailable} naming the reason.
        """

    def abort():
        """Drop what was written. Deferred[None]; never fails."""


class IBlobReader(Interface):
    """One stored blob, open for reading parts of it."""

    size = Attribute("The blob's length in bytes (int).")

    def read(offset, length):
        """
        Deferred[bytes-like]: up to C{length} bytes from C{offset} (fewer
        only at the end). The result may be a view of the reader's buffer,
        valid until its next read: use it (or copy it) before reading again.
        """

    def close():
        """Release the blob. Deferred[None]."""


class IFileStore(IBackend):
    """
    Blob storage for uploaded files, streamed in and out in parts so that a
    large file never sits in memory. Blobs are opaque bytes here: encryption
    with the per-file key (L{hubsd.files.sealing}) happens above this
    interface. Ids are checked with L{hubsd.files.ids.check_file_id}
    (L{hubsd.files.errors.BadFileId} otherwise).
    """

    def create(file_id):
        """A new L{IBlobWriter} for C{file_id} (returned at once, not a Deferred)."""

    def open(file_id):
        """Deferred[IBlobReader]; fails with L{hubsd.files.errors.FileMissing}."""

    def delete(file_id):
        """Remove a blob; deleting a missing blob is not an error. Deferred[None]."""

    def exists(file_id):
        """Deferred[bool]."""


class IClusterBus(IBackend):
    """
    Carries room traffic between hubsd nodes. The ``local`` bus serves one
    process and carries nothing; ``redis`` (later) fans out across nodes.
    """

    node_id = Attribute("This node's identifier (str).")

    def publish(channel, payload):
        """Send C{payload} (bytes) to every other node listening on C{channel}."""

    def subscribe(channel, callback):
        """
        Call C{callback(payload)} for messages other nodes publish on
        C{channel}. Returns a callable that cancels the subscription.
        """


class ISFU(IBackend):
    """
    The selective forwarding unit for voice and video. Its signalling runs
    over the WAMP router as an in-process session (see sfu-protocol.md).
    """

    name = Attribute("Backend name, e.g. 'none'.")
    forwards_media = Attribute("True if this SFU forwards RTP at all.")


class IRoomStore(IBackend):
    """
    The persistent state of rooms: rooms, accounts, roles, pinned objects and
    file metadata (records in L{hubsd.storage.records}).

    Every method returns a Deferred. A Deferred fires only after the write is
    committed. Failures are the exceptions of L{hubsd.storage.errors}:
    C{NotFound}, C{Conflict}, C{InvalidValue}, and C{StorageUnavailable} when
    the database cannot be reached (the store keeps trying to reconnect);
    never a database driver's exception.

    A key that cannot name a record (an id that is not an int in the signed
    64-bit range, a sid, file id, object id, role or e-mail that is not a
    string, text with a NUL or a lone surrogate) fails with C{NotFound}, even
    where an unknown key gives [] or 0. Text a store keeps must be free of
    NUL characters and lone surrogates (C{InvalidValue} otherwise), and
    times are timezone-aware datetimes (a naive one is C{InvalidValue}).
    """

    def create_room(
        name,
        scene_id=None,
        entry_mode="allow",
        member_permissions=None,
        room_size=None,
        slug=None,
        description="",
        scene_url=None,
        public=False,
        creator_token_hash=None,
    ):
        """
        Create a room with a new 64-bit C{hub_id} and a new 7-character
        C{hub_sid}. C{None} means the default member permissions (voice and
        text chat), room size (24) and slug (derived from the name).

        C{name}: 1 to 64 characters. C{description}: at most 64000
        characters. C{scene_url}: None or an absolute http(s) URL of at most
        2048 characters, no spaces (a custom glTF scene; C{scene_id} names a
        known scene). C{public}: a bool; public rooms are listed by
        L{list_public_rooms}. C{creator_token_hash}: None or the SHA-256 hex
        (64 lower-case digits, see C{hubsd.storage.records.hash_token}) of
        the creator-assignment token; never the token itself.

        Deferred[Room]; fails with C{InvalidValue} naming the bad field.
        """

    def get_room(hub_id):
        """Deferred[Room]; fails with C{NotFound}."""

    def get_room_by_sid(hub_sid):
        """Deferred[Room] for a room sid; fails with C{NotFound}."""

    def update_room(hub_id, **fields):
        """
        Change some of name, slug, scene_id, scene_url, description,
        entry_mode, member_permissions, room_size, public and
        creator_token_hash (rules as in L{create_room}; closing a room is
        C{entry_mode="deny"}) and bump updated_at. Deferred[Room] (the new
        state); fails with C{NotFound} or C{InvalidValue} (unknown field or
        bad value, named), changing nothing.
        """

    def delete_room(hub_id):
        """
        Delete a room with its roles and pinned objects. Deferred[None]; fails
        with C{NotFound}.
        """

    def list_rooms():
        """Deferred[list[Room]], oldest first (by hub_id)."""

    def list_public_rooms(limit=100):
        """
        Deferred[list[Room]]: at most C{limit} rooms that are public and whose
        entry_mode is not "deny", newest first (by created_at, then hub_id).
        Fails with C{InvalidValue} unless C{limit} is an int from 0 to 1000.
        """

    def create_account(email):
        """
        Create an account for an e-mail address, stored only hashed.
        Deferred[Account]; fails with C{Conflict} if the address has one.
        """

    def get_account(account_id):
        """Deferred[Account]; fails with C{NotFound}."""

    def get_account_by_email(email):
        """Deferred[Account] (address normalized first); fails with C{NotFound}."""

    def set_role(hub_id, account_id, role):
        """
        Grant C{role} (owner, creator, moderator) in a room; granting a held
        role again is not an error. Deferred[RoomRole]; fails with C{NotFound}
        for an unknown room or account, C{InvalidValue} for an unknown role.
        """

    def remove_role(hub_id, account_id, role):
        """Deferred[None]; fails with C{NotFound} if the role is not held."""

    def roles_for_room(hub_id):
        """Deferred[list[RoomRole]] ordered by account_id then role; [] if none."""

    def roles_for_account(account_id):
        """Deferred[list[RoomRole]] ordered by hub_id then role; [] if none."""

    def pin_object(hub_id, object_id, gltf, created_by=None, file_id=None):
        """
        Pin an object, or replace the glTF and file_id of one already pinned
        (its created_by is kept). C{object_id} is the object's networkId (1
        to 128 characters); C{gltf} a JSON object (no NaN or infinity), handed
        back as JSON would give it (lists for tuples); C{file_id} None or 1 to
        128 characters, the uploaded file it shows (a link: not checked against
        the file records). Deferred[PinnedObject]; fails with C{InvalidValue}
        naming the bad argument, C{NotFound} for an unknown room or account.
        """

    def unpin_object(hub_id, object_id):
        """Deferred[None]; fails with C{NotFound} if the object is not pinned."""

    def list_pinned(hub_id):
        """Deferred[list[PinnedObject]] ordered by object_id; [] if none."""

    def count_pinned(hub_id):
        """Deferred[int]: how many objects the room has pinned; 0 if none (or no room)."""

    def add_file(
        file_id,
        content_type,
        size,
        owner_account_id=None,
        expires_at=None,
        promotion_token_hash=None,
    ):
        """
        Record an uploaded, not yet promoted file. C{promotion_token_hash}:
        None or the L{hash_token} of its promotion token (never the token).
        Deferred[FileMeta]; fails with C{Conflict} for a known file_id,
        C{NotFound} for an unknown owner, C{InvalidValue} naming a bad field.
        """

    def account_file_usage(account_id):
        """
        Deferred[int]: the bytes of every file C{account_id} owns, promoted
        or not (0 for an account with none, or no such account).
        """

    def get_file(file_id):
        """Deferred[FileMeta]; fails with C{NotFound}."""

    def promote_file(file_id):
        """
        Keep a file for good: promoted, no expiry. Deferred[FileMeta]; fails
        with C{NotFound}.
        """

    def delete_file(file_id):
        """Deferred[None]; fails with C{NotFound}."""

    def list_expired_files(now):
        """
        Deferred[list[FileMeta]]: unpromoted files whose expires_at is at or
        before C{now} (aware datetime; a file expiring exactly at C{now} is
        included), soonest first.
        """

    def account_for_email_hash(email_hash):
        """
        The account of the address whose L{hubsd.storage.records.hash_email}
        is C{email_hash}, created if there is none (a first sign-in). Two
        calls racing for one new address get the same account.
        Deferred[Account]; fails with C{InvalidValue} unless the hash is 64
        lower-case hex digits.
        """

    def add_login_token(token_hash, email_hash, topic, expires_at):
        """
        Keep an unused sign-in link (a L{hubsd.storage.logins.LoginToken}):
        the SHA-256 hex of its token, never the token; the address's hash;
        its login topic (16 to 128 of A-Z a-z 0-9 _ -); an aware expiry.
        Deferred[LoginToken]; fails with C{InvalidValue} naming the bad
        argument, C{Conflict} for a token hash already kept.
        """

    def take_login_token(token_hash, topic, now):
        """
        Use a sign-in link, once: remove the login token with this hash and
        topic and return it, if it is still valid at C{now} (its expires_at
        is after C{now}). Of two takes of one token, racing or not, exactly
        one succeeds. Deferred[LoginToken]; fails with C{NotFound} for an
        unknown hash, another topic's token, or an expired one (left for
        L{delete_expired_login_tokens}); C{InvalidValue} for a naive C{now}.
        """

    def delete_login_token(token_hash):
        """
        Forget an unused link (its e-mail could not be sent). Deferred[None];
        a token that is not kept is not an error.
        """

    def delete_expired_login_tokens(now):
        """
        Remove the login tokens whose expires_at is at or before C{now}
        (aware). Deferred[int]: how many were removed.
        """
