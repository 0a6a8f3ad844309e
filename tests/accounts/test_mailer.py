"""
The SMTP client of sign-in against Twisted's own ESMTP server on loopback:
plain, STARTTLS (required), implicit TLS, AUTH; every failure is one
Unavailable naming the server, and the password is never logged.
"""

from __future__ import annotations

import base64
import socket
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor

from hubsd.accounts.errors import Unavailable
from hubsd.accounts.mailer import Mailer, SmtpSettings, compose
from tests.accounts.smtpserver import SmtpServer, start_smtp
from tests.conftest import free_port
from tests.storage.helpers import failure_of

PASSWORD = "s3cret-Pa55word"


def letter(to: str = "ann@example.org") -> bytes:
    return compose("hubs@example.org", to, "Your sign-in link", "open https://x.example/v?t=1\n")


def mailer(port: int, **settings: Any) -> Mailer:
    values: dict[str, Any] = {"host": "127.0.0.1", "security": "none", "timeout": 10.0}
    values.update(settings)
    return Mailer(SmtpSettings(port=port, sender="hubs@example.org", **values), reactor)


@pytest_twisted.ensureDeferred
async def test_a_message_reaches_a_plain_server(smtp: SmtpServer) -> None:
    await mailer(smtp.port).send("ann@example.org", letter())
    (got,) = await smtp.box.wait_for(1)
    assert got.mail_from == "hubs@example.org" and got.rcpt_to == ["ann@example.org"]
    message = got.message
    assert message["Subject"] == "Your sign-in link"
    assert message["From"] == "hubs@example.org" and message["To"] == "ann@example.org"
    assert message["Date"] and message["Message-ID"].endswith("@example.org>")


@pytest_twisted.ensureDeferred
async def test_starttls_is_used_and_the_certificate_checked(
    certificate: tuple[Any, Path],
) -> None:
    tls, ca_file = certificate
    server = start_smtp(tls=tls)
    try:
        sender = mailer(server.port, host="localhost", security="starttls", ca_file=str(ca_file))
        await sender.send("ann@example.org", letter())
        assert len(await server.box.wait_for(1)) == 1
        # The system's trust store does not know the test's certificate.
        untrusted = mailer(server.port, host="localhost", security="starttls")
        await failure_of(untrusted.send("bob@example.org", letter()), Unavailable)
    finally:
        await server.stop()
    assert [m.rcpt_to for m in server.box.messages] == [["ann@example.org"]]


@pytest_twisted.ensureDeferred
async def test_starttls_required_is_refused_by_a_server_without_it(
    smtp: SmtpServer, certificate: tuple[Any, Path]
) -> None:
    _, ca_file = certificate
    sender = mailer(smtp.port, host="localhost", security="starttls", ca_file=str(ca_file))
    error = await failure_of(sender.send("ann@example.org", letter()), Unavailable)
    assert str(error) == f"the e-mail could not be sent through localhost:{smtp.port}"
    assert smtp.box.messages == []


@pytest_twisted.ensureDeferred
async def test_implicit_tls(certificate: tuple[Any, Path]) -> None:
    tls, ca_file = certificate
    server = start_smtp(tls=tls, implicit_tls=True)
    try:
        sender = mailer(server.port, host="localhost", security="tls", ca_file=str(ca_file))
        await sender.send("ann@example.org", letter())
        assert len(await server.box.wait_for(1)) == 1
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_auth_is_done_and_the_password_is_never_logged(
    certificate: tuple[Any, Path], log_text: list[str]
) -> None:
    tls, ca_file = certificate
    server = start_smtp(tls=tls, users={b"hubs": PASSWORD.encode()})
    try:
        tls_to = {"host": "localhost", "security": "starttls", "ca_file": str(ca_file)}
        good = mailer(server.port, username="hubs", password=PASSWORD, **tls_to)
        await good.send("ann@example.org", letter())
        assert server.box.logins == [b"hubs"]
        wrong = mailer(server.port, username="hubs", password=PASSWORD + "x", **tls_to)
        error = await failure_of(wrong.send("bob@example.org", letter()), Unavailable)
        # Without AUTH, a server that requires it refuses the sender.
        anonymous = mailer(server.port, **tls_to)
        await failure_of(anonymous.send("carol@example.org", letter()), Unavailable)
    finally:
        await server.stop()
    assert [m.rcpt_to for m in server.box.messages] == [["ann@example.org"]]
    secrets = [PASSWORD, PASSWORD + "x"]
    for secret in list(secrets):
        for user in ("hubs", ""):
            plain = f"{user}\0hubs\0{secret}" if user else f"\0hubs\0{secret}"
            secrets.append(base64.b64encode(plain.encode()).decode())
        secrets.append(base64.b64encode(secret.encode()).decode())
    logged = "\n".join(log_text) + str(error) + repr(good) + repr(good.settings)
    assert any("could not be sent through" in line for line in log_text)
    for secret in secrets:
        assert secret not in logged


@pytest_twisted.ensureDeferred
async def test_a_server_that_is_down_or_refuses_is_unavailable(smtp: SmtpServer) -> None:
    down = free_port()
    error = await failure_of(mailer(down).send("ann@example.org", letter()), Unavailable)
    assert str(error) == f"the e-mail could not be sent through 127.0.0.1:{down}"
    smtp.box.refuse_recipients = True
    await failure_of(mailer(smtp.port).send("ann@example.org", letter()), Unavailable)
    assert smtp.box.messages == []


@pytest_twisted.ensureDeferred
async def test_a_server_that_never_answers_times_out() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        port = silent.getsockname()[1]
        sender = mailer(port, timeout=1.0)
        await failure_of(sender.send("ann@example.org", letter()), Unavailable)
    finally:
        silent.close()


def test_a_ca_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    with pytest.raises(ValueError, match=f"cannot read smtp_ca_file {missing}"):
        mailer(25, host="localhost", security="starttls", ca_file=str(missing))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(ValueError, match=f"cannot read smtp_ca_file {garbage}"):
        mailer(25, host="localhost", security="tls", ca_file=str(garbage))
    with pytest.raises(ValueError, match="unknown SMTP security"):
        mailer(25, security="ssl")
