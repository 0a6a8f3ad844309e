"""
The SQL of L{hubsd.storage.postgres.PostgresRoomStore} for what members put
in rooms: pinned objects and uploaded files' metadata. Built on the room
queries of L{hubsd.storage.postgres_rooms} (a pin needs its room and pinner).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import psycopg2
from psycopg2.extras import Json
from twisted.internet.defer import Deferred, fail

from hubsd.storage.errors import Conflict, NotFound, StorageError
from hubsd.storage.keys import keyed
from hubsd.storage.postgres_rooms import PostgresRoomQueries
from hubsd.storage.records import FileMeta, PinnedObject, check_file, check_moment, check_pin

FILE_COLUMNS = (
    "file_id, owner_account_id, content_type, size, promoted, expires_at, promotion_token_hash"
)
PIN_COLUMNS = "hub_id, object_id, gltf, created_by, updated_at, file_id"


def _file(row: tuple[Any, ...]) -> FileMeta:
    file_id, owner, content_type, size, promoted, expires, promotion = row
    expires_utc = None if expires is None else expires.astimezone(UTC)
    return FileMeta(file_id, owner, content_type, size, promoted, expires_utc, promotion)


def _pin(row: tuple[Any, ...]) -> PinnedObject:
    hub_id, object_id, gltf, created_by, updated, file_id = row
    return PinnedObject(hub_id, object_id, gltf, created_by, updated.astimezone(UTC), file_id)


class PostgresContentQueries(PostgresRoomQueries):
    """Every IRoomStore operation in PostgreSQL's dialect: pins and files added to rooms'."""

    # Pinned objects

    @keyed("hub_id", "created_by")
    def pin_object(
        self,
        hub_id: int,
        object_id: str,
        gltf: Mapping[str, Any],
        created_by: int | None = None,
        file_id: str | None = None,
    ) -> Deferred[PinnedObject]:
        try:
            document = check_pin(object_id, gltf, file_id)
        except StorageError:
            return fail()
        now = self._clock()

        async def pin() -> PinnedObject:
            await self._getRoom("hub_id", hub_id)
            if created_by is not None:
                await self._getAccount("account_id", created_by)
            try:
                rows = await self._query(
                    f"INSERT INTO pinned_objects ({PIN_COLUMNS}) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (hub_id, object_id) "
                    "DO UPDATE SET gltf = excluded.gltf, updated_at = excluded.updated_at, "
                    f"file_id = excluded.file_id RETURNING {PIN_COLUMNS}",
                    # The checked JSON text, so every backend stores the same document.
                    (hub_id, object_id, Json(document, dumps=_as_is), created_by, now, file_id),
                )
            except psycopg2.errors.ForeignKeyViolation as e:
                raise NotFound("room or account", (hub_id, created_by)) from e
            return _pin(rows[0])

        return self._call(pin())

    @keyed("hub_id", "object_id")
    def unpin_object(self, hub_id: int, object_id: str) -> Deferred[None]:
        key = (hub_id, object_id)
        sql = "DELETE FROM pinned_objects WHERE hub_id = %s AND object_id = %s RETURNING hub_id"
        return self._call(self._one(sql, key, "pinned object", key)).addCallback(lambda _: None)

    @keyed("hub_id")
    def list_pinned(self, hub_id: int) -> Deferred[list[PinnedObject]]:
        async def select() -> list[PinnedObject]:
            rows = await self._query(
                f"SELECT {PIN_COLUMNS} FROM pinned_objects WHERE hub_id = %s ORDER BY object_id",
                (hub_id,),
            )
            return [_pin(row) for row in rows]

        return self._call(select())

    @keyed("hub_id")
    def count_pinned(self, hub_id: int) -> Deferred[int]:
        async def count() -> int:
            rows = await self._query(
                "SELECT count(*) FROM pinned_objects WHERE hub_id = %s", (hub_id,)
            )
            return int(rows[0][0])

        return self._call(count())

    # Files

    @keyed("owner_account_id")
    def add_file(
        self,
        file_id: str,
        content_type: str,
        size: int,
        owner_account_id: int | None = None,
        expires_at: datetime | None = None,
        promotion_token_hash: str | None = None,
    ) -> Deferred[FileMeta]:
        try:
            check_file(file_id, content_type, size, expires_at, promotion_token_hash)
        except StorageError:
            return fail()

        async def insert() -> FileMeta:
            try:
                rows = await self._query(
                    f"INSERT INTO files ({FILE_COLUMNS}) VALUES (%s, %s, %s, %s, false, %s, %s) "
                    f"RETURNING {FILE_COLUMNS}",
                    (
                        file_id,
                        owner_account_id,
                        content_type,
                        size,
                        expires_at,
                        promotion_token_hash,
                    ),
                )
            except psycopg2.errors.UniqueViolation as e:
                raise Conflict(f"file {file_id!r} exists") from e
            except psycopg2.errors.ForeignKeyViolation as e:
                raise NotFound("account", owner_account_id) from e
            return _file(rows[0])

        return self._call(insert())

    @keyed("account_id")
    def account_file_usage(self, account_id: int) -> Deferred[int]:
        async def total() -> int:
            rows = await self._query(
                "SELECT COALESCE(SUM(size), 0) FROM files WHERE owner_account_id = %s",
                (account_id,),
            )
            return int(rows[0][0])

        return self._call(total())

    @keyed("file_id")
    def get_file(self, file_id: str) -> Deferred[FileMeta]:
        sql = f"SELECT {FILE_COLUMNS} FROM files WHERE file_id = %s"
        return self._call(self._one(sql, (file_id,), "file", file_id)).addCallback(_file)

    @keyed("file_id")
    def promote_file(self, file_id: str) -> Deferred[FileMeta]:
        sql = (
            "UPDATE files SET promoted = true, expires_at = NULL WHERE file_id = %s "
            f"RETURNING {FILE_COLUMNS}"
        )
        return self._call(self._one(sql, (file_id,), "file", file_id)).addCallback(_file)

    @keyed("file_id")
    def delete_file(self, file_id: str) -> Deferred[None]:
        sql = "DELETE FROM files WHERE file_id = %s RETURNING file_id"
        return self._call(self._one(sql, (file_id,), "file", file_id)).addCallback(lambda _: None)

    def list_expired_files(self, now: datetime) -> Deferred[list[FileMeta]]:
        try:
            check_moment("now", now)
        except StorageError:
            return fail()

        async def select() -> list[FileMeta]:
            rows = await self._query(
                f"SELECT {FILE_COLUMNS} FROM files WHERE NOT promoted "
                "AND expires_at IS NOT NULL AND expires_at <= %s ORDER BY expires_at, file_id",
                (now,),
            )
            return [_file(row) for row in rows]

        return self._call(select())


def _as_is(document: str) -> str:
    """C{Json}'s serializer for text that is JSON already."""
    return document
