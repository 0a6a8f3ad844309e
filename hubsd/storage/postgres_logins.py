"""
The SQL of L{hubsd.storage.postgres.PostgresRoomStore} for sign-in by
e-mailed link: accounts found (or created) by e-mail hash, and login tokens,
each used once (one C{DELETE ... RETURNING} decides which of two racing
takes wins).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import psycopg2
from twisted.internet.defer import Deferred, fail

from hubsd.storage.errors import Conflict, NotFound, StorageError
from hubsd.storage.keys import keyed
from hubsd.storage.logins import LoginToken, check_digest, new_login_token
from hubsd.storage.records import Account, check_moment, new_id

_LOGIN_COLUMNS = "token_hash, email_hash, topic, created_at, expires_at"


def _login(row: tuple[Any, ...]) -> LoginToken:
    token_hash, email_hash, topic, created, expires = row
    return LoginToken(
        token_hash, email_hash, topic, created.astimezone(UTC), expires.astimezone(UTC)
    )


class PostgresLoginQueries:
    """The IRoomStore operations of sign-in in PostgreSQL's dialect."""

    _clock: Callable[[], datetime]
    _call: Callable[[Coroutine[Any, Any, Any]], Deferred[Any]]
    _query: Callable[..., Awaitable[list[tuple[Any, ...]]]]

    def account_for_email_hash(self, email_hash: str) -> Deferred[Account]:
        try:
            check_digest("email_hash", email_hash)
        except StorageError:
            return fail()
        now = self._clock()

        async def find_or_create() -> Account:
            # The insert yields to a row another node inserted first (the
            # unique email_hash), and the select then finds that one.
            rows = await self._query(
                "INSERT INTO accounts (account_id, email_hash, created_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (email_hash) DO NOTHING RETURNING account_id, created_at",
                (new_id(), email_hash, now),
            )
            if not rows:
                rows = await self._query(
                    "SELECT account_id, created_at FROM accounts WHERE email_hash = %s",
                    (email_hash,),
                )
            account_id, created = rows[0]
            return Account(account_id, email_hash, created.astimezone(UTC))

        return self._call(find_or_create())

    def add_login_token(
        self, token_hash: str, email_hash: str, topic: str, expires_at: datetime
    ) -> Deferred[LoginToken]:
        try:
            login = new_login_token(token_hash, email_hash, topic, expires_at, self._clock())
        except StorageError:
            return fail()

        async def insert() -> LoginToken:
            try:
                await self._query(
                    f"INSERT INTO login_tokens ({_LOGIN_COLUMNS}) VALUES (%s, %s, %s, %s, %s) "
                    "RETURNING token_hash",
                    (token_hash, email_hash, topic, login.created_at, expires_at),
                )
            except psycopg2.errors.UniqueViolation as e:
                raise Conflict("a login token with this hash exists") from e
            return login

        return self._call(insert())

    @keyed("token_hash", "topic")
    def take_login_token(self, token_hash: str, topic: str, now: datetime) -> Deferred[LoginToken]:
        try:
            check_moment("now", now)
        except StorageError:
            return fail()

        async def take() -> LoginToken:
            rows = await self._query(
                "DELETE FROM login_tokens WHERE token_hash = %s AND topic = %s AND expires_at > %s "
                f"RETURNING {_LOGIN_COLUMNS}",
                (token_hash, topic, now),
            )
            if not rows:
                raise NotFound("login token", "(not shown)")
            return _login(rows[0])

        return self._call(take())

    @keyed("token_hash")
    def delete_login_token(self, token_hash: str) -> Deferred[None]:
        async def delete() -> None:
            await self._query(
                "DELETE FROM login_tokens WHERE token_hash = %s RETURNING 1", (token_hash,)
            )

        return self._call(delete())

    def delete_expired_login_tokens(self, now: datetime) -> Deferred[int]:
        try:
            check_moment("now", now)
        except StorageError:
            return fail()

        async def delete() -> int:
            rows = await self._query(
                "WITH gone AS (DELETE FROM login_tokens WHERE expires_at <= %s RETURNING 1) "
                "SELECT count(*) FROM gone",
                (now,),
            )
            return int(rows[0][0])

        return self._call(delete())
