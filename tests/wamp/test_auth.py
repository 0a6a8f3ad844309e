"""Authentication with real Autobahn clients (interop); the rules are in test_auth_rules."""

from __future__ import annotations

import pytest
import pytest_twisted

from tests.wamp.harness import Harness


@pytest.mark.parametrize("serializer", ["json", "msgpack", "cbor"])
@pytest_twisted.ensureDeferred
async def test_ticket_principal_joins_with_its_role(harness: Harness, serializer: str) -> None:
    c = await harness.connect(
        serializer, authmethods=["ticket"], authid="alice", secret="secret-ticket"
    )
    assert (c.details.authid, c.details.authrole, c.details.authmethod) == (
        "alice",
        "user",
        "ticket",
    )
    assert c.details.authprovider == "static"


@pytest.mark.parametrize("serializer", ["json", "msgpack", "cbor"])
@pytest_twisted.ensureDeferred
async def test_wampcra_principal_joins(harness: Harness, serializer: str) -> None:
    c = await harness.connect(
        serializer, authmethods=["wampcra"], authid="bob", secret="bob-secret"
    )
    assert (c.details.authid, c.details.authrole, c.details.authmethod) == (
        "bob",
        "user",
        "wampcra",
    )


@pytest_twisted.ensureDeferred
async def test_salted_wampcra_principal_joins_without_stored_password() -> None:
    from autobahn.wamp.auth import derive_key

    from hubsd.wamp.settings import Principal, RouterSettings

    key = derive_key(b"pa55word", b"pepper", 100, 16).decode()
    settings = RouterSettings(
        realms=("realm1",),
        principals=(
            Principal(
                "carol",
                "realm1",
                "user",
                wampcra_secret=key,
                wampcra_salt="pepper",
                wampcra_iterations=100,
                wampcra_keylen=16,
            ),
        ),
    )
    h = Harness(settings)
    try:
        c = await h.connect(authmethods=["wampcra"], authid="carol", secret="pa55word")
        assert c.details.authid == "carol"
        with pytest.raises(RuntimeError, match="authentication_failed"):
            await h.connect(authmethods=["wampcra"], authid="carol", secret="wrong")
    finally:
        await h.close()
