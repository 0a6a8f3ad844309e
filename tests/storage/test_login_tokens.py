"""
Sign-in links as every IRoomStore keeps them (memory, SQLite, PostgreSQL):
kept hashed, used once (also when two takes race), refused after their
expiry to the microsecond, swept; accounts found or created by e-mail hash.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_twisted
from twisted.internet.defer import DeferredList

from hubsd.storage.errors import Conflict, InvalidValue, NotFound
from hubsd.storage.records import hash_email, hash_token

from .conftest import Backend
from .helpers import failure_of, provides_room_store

NOW = datetime(2030, 1, 1, 12, 0, 0, 250000, tzinfo=UTC)
TOPIC = "0f8fad5b-d9cb-469f-a165-70867728950e"
OTHER_TOPIC = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
TOKEN = hash_token("the secret in the link")
EMAIL = hash_email("Ann@Example.org")


@pytest_twisted.ensureDeferred
async def test_a_login_token_is_taken_once_for_its_topic(store: Any) -> None:
    assert provides_room_store(store)
    kept = await store.add_login_token(TOKEN, EMAIL, TOPIC, NOW + timedelta(minutes=30))
    assert (kept.token_hash, kept.email_hash, kept.topic) == (TOKEN, EMAIL, TOPIC)
    assert kept.expires_at == NOW + timedelta(minutes=30)
    await failure_of(store.take_login_token(TOKEN, OTHER_TOPIC, NOW), NotFound)
    taken = await store.take_login_token(TOKEN, TOPIC, NOW)
    assert taken == kept
    await failure_of(store.take_login_token(TOKEN, TOPIC, NOW), NotFound)


@pytest_twisted.ensureDeferred
async def test_two_racing_takes_of_one_token_give_it_once(store: Any) -> None:
    await store.add_login_token(TOKEN, EMAIL, TOPIC, NOW + timedelta(minutes=30))
    results = await DeferredList(
        [store.take_login_token(TOKEN, TOPIC, NOW) for _ in range(4)], consumeErrors=True
    )
    won = [value for ok, value in results if ok]
    lost = [value for ok, value in results if not ok]
    assert len(won) == 1 and won[0].token_hash == TOKEN
    assert len(lost) == 3 and all(f.check(NotFound) for f in lost)


@pytest_twisted.ensureDeferred
async def test_a_login_token_expires_at_exactly_its_expiry(store: Any) -> None:
    expires = NOW + timedelta(minutes=30)
    await store.add_login_token(TOKEN, EMAIL, TOPIC, expires)
    await failure_of(store.take_login_token(TOKEN, TOPIC, expires), NotFound)
    # Refused, not used up: still there for the sweep.
    assert await store.delete_expired_login_tokens(expires - timedelta(microseconds=1)) == 0
    taken = await store.take_login_token(TOKEN, TOPIC, expires - timedelta(microseconds=1))
    assert taken.token_hash == TOKEN


@pytest_twisted.ensureDeferred
async def test_expired_login_tokens_are_swept(store: Any) -> None:
    for n, minutes in enumerate([-5, 0, 5]):
        await store.add_login_token(
            hash_token(f"token {n}"), EMAIL, TOPIC, NOW + timedelta(minutes=minutes)
        )
    assert await store.delete_expired_login_tokens(NOW) == 2
    assert await store.delete_expired_login_tokens(NOW) == 0
    await failure_of(store.take_login_token(hash_token("token 0"), TOPIC, NOW), NotFound)
    assert (await store.take_login_token(hash_token("token 2"), TOPIC, NOW)).topic == TOPIC


@pytest_twisted.ensureDeferred
async def test_a_token_whose_mail_failed_is_forgotten(store: Any) -> None:
    await store.add_login_token(TOKEN, EMAIL, TOPIC, NOW + timedelta(minutes=30))
    await store.delete_login_token(TOKEN)
    await store.delete_login_token(TOKEN)  # not kept: not an error
    await failure_of(store.take_login_token(TOKEN, TOPIC, NOW), NotFound)


@pytest_twisted.ensureDeferred
async def test_bad_login_tokens_are_refused_by_name(store: Any) -> None:
    later = NOW + timedelta(minutes=30)
    await store.add_login_token(TOKEN, EMAIL, TOPIC, later)
    await failure_of(store.add_login_token(TOKEN, EMAIL, TOPIC, later), Conflict)
    for args, message in [
        (("the token itself", EMAIL, TOPIC, later), "token_hash must be 64 lower-case hex"),
        ((TOKEN.upper(), EMAIL, TOPIC, later), "token_hash must be 64 lower-case hex"),
        ((hash_token("x"), "ann@example.org", TOPIC, later), "email_hash must be 64"),
        ((hash_token("x"), EMAIL, "short", later), "topic must be 16 to 128"),
        ((hash_token("x"), EMAIL, "t" * 129, later), "topic must be 16 to 128"),
        ((hash_token("x"), EMAIL, TOPIC + "/..", later), "topic must be 16 to 128"),
        ((hash_token("x"), EMAIL, TOPIC, datetime(2030, 1, 1)), "expires_at must be"),
    ]:
        error = await failure_of(store.add_login_token(*args), InvalidValue)
        assert str(error).startswith(message), args
        assert "the token itself" not in str(error)
    for key in (None, 12, "x\x00", "\ud800"):
        await failure_of(store.take_login_token(key, TOPIC, NOW), NotFound)
        await failure_of(store.take_login_token(TOKEN, key, NOW), NotFound)
    await failure_of(store.take_login_token(TOKEN, TOPIC, datetime(2030, 1, 1)), InvalidValue)
    await failure_of(store.delete_expired_login_tokens(datetime(2030, 1, 1)), InvalidValue)


@pytest_twisted.ensureDeferred
async def test_an_account_is_made_on_first_sign_in_and_found_after(store: Any) -> None:
    first = await store.account_for_email_hash(EMAIL)
    again = await store.account_for_email_hash(EMAIL)
    assert first == again and first.email_hash == EMAIL
    assert await store.get_account_by_email(" ann@example.ORG") == first
    # An account made the other way is the one a sign-in finds.
    bob = await store.create_account("bob@example.org")
    assert await store.account_for_email_hash(hash_email("bob@example.org")) == bob
    await failure_of(store.account_for_email_hash("ann@example.org"), InvalidValue)


@pytest_twisted.ensureDeferred
async def test_racing_first_sign_ins_make_one_account(store: Any) -> None:
    results = await DeferredList([store.account_for_email_hash(EMAIL) for _ in range(4)])
    accounts = {value for ok, value in results if ok}
    assert len(accounts) == 1 and all(ok for ok, _ in results)


@pytest_twisted.ensureDeferred
async def test_no_address_or_token_is_kept_in_the_clear(sql_backend: Backend) -> None:
    store = sql_backend.make()
    await store.start()
    await store.create_account("carol@example.org")
    await store.account_for_email_hash(EMAIL)
    await store.add_login_token(TOKEN, EMAIL, TOPIC, NOW + timedelta(minutes=30))
    assert sql_backend.sql is not None
    kept = repr(sql_backend.sql("SELECT * FROM accounts")) + repr(
        sql_backend.sql("SELECT * FROM login_tokens")
    )
    assert "example.org" not in kept.lower()
    assert "the secret in the link" not in kept
    assert EMAIL in kept and TOKEN in kept
