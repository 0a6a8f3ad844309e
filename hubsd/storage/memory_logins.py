"""
The sign-in part of L{hubsd.storage.memory.MemoryRoomStore}: accounts found
by e-mail hash and the login tokens of e-mailed links, in dicts, with the
promises of the SQL stores.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed

from hubsd.storage.errors import Conflict, NotFound, StorageError
from hubsd.storage.keys import keyed
from hubsd.storage.logins import LoginToken, check_digest, new_login_token
from hubsd.storage.records import Account, check_moment, new_id


def _deferred(call: Callable[[], Any]) -> Deferred[Any]:
    try:
        return succeed(call())
    except StorageError:
        return fail()


class MemoryLoginQueries:
    """Sign-in links and first-sign-in accounts over the memory store's dicts."""

    _clock: Callable[[], datetime]
    _accounts: dict[int, Account]
    _logins: dict[str, LoginToken]

    def account_for_email_hash(self, email_hash: str) -> Deferred[Account]:
        def find_or_create() -> Account:
            check_digest("email_hash", email_hash)
            for account in self._accounts.values():
                if account.email_hash == email_hash:
                    return account
            account_id = new_id()
            while account_id in self._accounts:
                account_id = new_id()
            account = self._accounts[account_id] = Account(account_id, email_hash, self._clock())
            return account

        return _deferred(find_or_create)

    def add_login_token(
        self, token_hash: str, email_hash: str, topic: str, expires_at: datetime
    ) -> Deferred[LoginToken]:
        def add() -> LoginToken:
            login = new_login_token(token_hash, email_hash, topic, expires_at, self._clock())
            if token_hash in self._logins:
                raise Conflict("a login token with this hash exists")
            self._logins[token_hash] = login
            return login

        return _deferred(add)

    @keyed("token_hash", "topic")
    def take_login_token(self, token_hash: str, topic: str, now: datetime) -> Deferred[LoginToken]:
        def take() -> LoginToken:
            check_moment("now", now)
            login = self._logins.get(token_hash)
            if login is None or login.topic != topic or login.expires_at <= now:
                raise NotFound("login token", "(not shown)")
            del self._logins[token_hash]
            return login

        return _deferred(take)

    @keyed("token_hash")
    def delete_login_token(self, token_hash: str) -> Deferred[None]:
        self._logins.pop(token_hash, None)
        return succeed(None)

    def delete_expired_login_tokens(self, now: datetime) -> Deferred[int]:
        def delete() -> int:
            check_moment("now", now)
            expired = [h for h, login in self._logins.items() if login.expires_at <= now]
            for token_hash in expired:
                del self._logins[token_hash]
            return len(expired)

        return _deferred(delete)
