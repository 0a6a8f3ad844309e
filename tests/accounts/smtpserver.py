"""
A real SMTP server for tests: Twisted's own ESMTP server on loopback,
keeping every message it accepts in a L{MailBox}.

It can offer STARTTLS or speak TLS from the first byte (with a self-signed
certificate for ``localhost`` that the test trusts through a CA file),
require SMTP AUTH, or refuse every recipient.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from twisted.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from twisted.cred.portal import IRealm, Portal
from twisted.internet import reactor, ssl
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import deferLater
from twisted.mail import smtp
from twisted.mail.imap4 import LOGINCredentials, PLAINCredentials
from zope.interface import implementer

from tests.certificates import self_signed


@dataclass
class Received:
    """One accepted message."""

    mail_from: str
    rcpt_to: list[str]
    data: bytes

    @property
    def message(self) -> Message:
        return email.message_from_bytes(self.data)

    def link(self) -> str:
        """The sign-in link in the message's text."""
        body = self.message.get_payload(decode=True)
        assert isinstance(body, bytes)
        found = re.search(r"https?://\S+", body.decode("utf-8"))
        assert found is not None, body
        return found.group(0)


@dataclass
class MailBox:
    """What the server accepted, and whom it refuses."""

    messages: list[Received] = field(default_factory=list)
    refuse_recipients: bool = False
    #: Sessions that finished AUTH, by user name.
    logins: list[bytes] = field(default_factory=list)

    async def wait_for(self, count: int, seconds: float = 10.0) -> list[Received]:
        """Wait until C{count} messages have arrived (polled; generous for a loaded machine)."""
        waited = 0.0
        while len(self.messages) < count:
            if waited >= seconds:
                raise AssertionError(f"{len(self.messages)} of {count} messages in {seconds}s")
            await deferLater(reactor, 0.02, lambda: None)
            waited += 0.02
        return self.messages


@implementer(smtp.IMessage)
class _Message:
    def __init__(self, box: MailBox, mail_from: str, rcpt_to: str) -> None:
        self.box, self.mail_from, self.rcpt_to = box, mail_from, rcpt_to
        self.lines: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)

    def eomReceived(self) -> Deferred[None]:
        self.box.messages.append(Received(self.mail_from, [self.rcpt_to], b"\n".join(self.lines)))
        return succeed(None)

    def connectionLost(self) -> None:
        self.lines = []


@implementer(smtp.IMessageDelivery)
class _Delivery:
    def __init__(self, box: MailBox) -> None:
        self.box = box
        self.origin = ""

    def receivedHeader(self, helo: Any, origin: Any, recipients: Any) -> None:
        return None

    def validateFrom(self, helo: Any, origin: Any) -> Any:
        self.origin = str(origin)
        return origin

    def validateTo(self, user: smtp.User) -> Any:
        if self.box.refuse_recipients:
            raise smtp.SMTPBadRcpt(user)
        return lambda: _Message(self.box, self.origin, str(user.dest))


@implementer(IRealm)
class _Realm:
    def __init__(self, box: MailBox) -> None:
        self.box = box

    def requestAvatar(self, avatar_id: bytes, mind: Any, *interfaces: Any) -> Any:
        self.box.logins.append(avatar_id)
        return smtp.IMessageDelivery, _Delivery(self.box), lambda: None


class _Factory(smtp.SMTPFactory):
    protocol = smtp.ESMTP

    def __init__(self, box: MailBox, portal: Portal | None, tls: Any) -> None:
        super().__init__(portal)
        self.box, self.tls = box, tls

    def buildProtocol(self, addr: Any) -> Any:
        p = super().buildProtocol(addr)
        p.ctx = self.tls
        p.challengers = {b"LOGIN": LOGINCredentials, b"PLAIN": PLAINCredentials}
        if self.portal is None:
            p.delivery = _Delivery(self.box)
        return p


def make_certificate(directory: Path) -> tuple[Any, Path]:
    """A self-signed certificate for localhost: the server's TLS options and
    the PEM file a client trusts it by."""
    certificate = self_signed()
    ca_file = directory / "smtp-ca.pem"
    ca_file.write_bytes(ssl.Certificate(certificate.original).dumpPEM())
    return certificate.options(), ca_file


@dataclass
class SmtpServer:
    box: MailBox
    port: int
    listening: Any

    def stop(self) -> Deferred[None]:
        return self.listening.stopListening()


def start_smtp(
    tls: Any = None, implicit_tls: bool = False, users: dict[bytes, bytes] | None = None
) -> SmtpServer:
    """
    An ESMTP server on 127.0.0.1, port chosen by the system. C{tls}: server
    TLS options, offered by STARTTLS (or, with C{implicit_tls}, from the
    first byte). C{users}: require AUTH with these user names and passwords.
    """
    box = MailBox()
    portal = None
    if users is not None:
        portal = Portal(
            _Realm(box),
            [InMemoryUsernamePasswordDatabaseDontUse(**{k.decode(): v for k, v in users.items()})],
        )
    factory = _Factory(box, portal, None if implicit_tls else tls)
    if implicit_tls:
        listening = reactor.listenSSL(0, factory, tls, interface="127.0.0.1")
    else:
        listening = reactor.listenTCP(0, factory, interface="127.0.0.1")
    return SmtpServer(box, listening.getHost().port, listening)
