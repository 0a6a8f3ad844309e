"""
The SQL of L{hubsd.storage.sqlite.SQLiteRoomStore} for sign-in by e-mailed
link: accounts found (or created) by e-mail hash, and login tokens, each
used once (one C{DELETE ... RETURNING} decides which of two racing takes
wins).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from twisted.internet.defer import Deferred, fail

from hubsd.storage.errors import Conflict, NotFound, StorageError
from hubsd.storage.keys import keyed
from hubsd.storage.logins import LoginToken, check_digest, new_login_token
from hubsd.storage.records import Account, check_moment, new_id
from hubsd.storage.sqlite_rows import from_db, to_db, write

_LOGIN_COLUMNS = "token_hash, email_hash, topic, created_at, expires_at"


def _login(row: sqlite3.Row) -> LoginToken:
    return LoginToken(
        row["token_hash"],
        row["email_hash"],
        row["topic"],
        from_db(row["created_at"]),
        from_db(row["expires_at"]),
    )


class SQLiteLoginQueries:
    """The IRoomStore operations of sign-in in SQLite's dialect."""

    _clock: Callable[[], datetime]
    _run: Callable[..., Deferred[Any]]

    def account_for_email_hash(self, email_hash: str) -> Deferred[Account]:
        try:
            check_digest("email_hash", email_hash)
        except StorageError:
            return fail()
        now = self._clock()

        def find_or_create(conn: sqlite3.Connection) -> Account:
            row = conn.execute(
                "SELECT account_id, created_at FROM accounts WHERE email_hash = ?", (email_hash,)
            ).fetchone()
            if row is not None:
                return Account(row["account_id"], email_hash, from_db(row["created_at"]))
            account = Account(new_id(), email_hash, now)
            conn.execute(
                "INSERT INTO accounts (account_id, email_hash, created_at) VALUES (?, ?, ?)",
                (account.account_id, email_hash, to_db(now)),
            )
            return account

        # One write transaction: the look-up and the insert cannot be split by
        # another writer (SQLite has one at a time).
        return self._run(write, find_or_create)

    def add_login_token(
        self, token_hash: str, email_hash: str, topic: str, expires_at: datetime
    ) -> Deferred[LoginToken]:
        try:
            login = new_login_token(token_hash, email_hash, topic, expires_at, self._clock())
        except StorageError:
            return fail()

        def insert(conn: sqlite3.Connection) -> LoginToken:
            try:
                conn.execute(
                    f"INSERT INTO login_tokens ({_LOGIN_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                    (token_hash, email_hash, topic, to_db(login.created_at), to_db(expires_at)),
                )
            except sqlite3.IntegrityError as e:
                raise Conflict("a login token with this hash exists") from e
            return login

        return self._run(insert)

    @keyed("token_hash", "topic")
    def take_login_token(self, token_hash: str, topic: str, now: datetime) -> Deferred[LoginToken]:
        try:
            check_moment("now", now)
        except StorageError:
            return fail()

        def take(conn: sqlite3.Connection) -> LoginToken:
            row = conn.execute(
                "DELETE FROM login_tokens WHERE token_hash = ? AND topic = ? AND expires_at > ? "
                f"RETURNING {_LOGIN_COLUMNS}",
                (token_hash, topic, to_db(now)),
            ).fetchone()
            if row is None:
                raise NotFound("login token", "(not shown)")
            return _login(row)

        return self._run(take)

    @keyed("token_hash")
    def delete_login_token(self, token_hash: str) -> Deferred[None]:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM login_tokens WHERE token_hash = ?", (token_hash,))

        return self._run(delete)

    def delete_expired_login_tokens(self, now: datetime) -> Deferred[int]:
        try:
            check_moment("now", now)
        except StorageError:
            return fail()

        def delete(conn: sqlite3.Connection) -> int:
            cursor = conn.execute("DELETE FROM login_tokens WHERE expires_at <= ?", (to_db(now),))
            return int(cursor.rowcount)

        return self._run(delete)
