"""
Sending the sign-in e-mails with Twisted's SMTP client (``twisted.mail.smtp``).

L{Mailer.send} hands one message to the configured server: plain TCP then a
required STARTTLS (``starttls``), TLS from the first byte (``tls``), or no
TLS at all (``none``, for a relay on loopback), with SMTP AUTH when a user
name is set. It either fires once the server has accepted the message or
fails with L{hubsd.accounts.errors.Unavailable} within the timeout, never
both, and never retries (the caller undoes its own work and tells the
client). The password is kept in memory only: it is in no message, log
line or ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from io import BytesIO
from typing import Any

from OpenSSL import crypto
from twisted.internet import ssl
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.mail.smtp import ESMTPSender, ESMTPSenderFactory, SMTPClientError
from twisted.python.failure import Failure

from hubsd.accounts.errors import Unavailable

log = Logger()


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send (the ``smtp_*`` keys and ``sender`` of ``[accounts]``)."""

    host: str
    port: int = 587
    security: str = "starttls"
    sender: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""
    timeout: float = 30.0


def compose(sender: str, to: str, subject: str, body: str) -> bytes:
    """An RFC 5322 message (CRLF line ends) with Date and Message-ID."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body)
    return message.as_bytes()


class _QuietSender(ESMTPSender):
    # Twisted's SMTP client keeps a transcript of the exchange by default and
    # puts it in the text of every SMTP error, AUTH line (the password in
    # base64) included. Without it, an error is the server's reply alone.
    debug = False


class _QuietSenderFactory(ESMTPSenderFactory):
    protocol = _QuietSender


def _reason(failure: Failure) -> str:
    """What went wrong, in one line, from the server's reply or the connection."""
    error = failure.value
    if isinstance(error, SMTPClientError):
        reply = error.resp.decode("utf-8", "replace")
        why = f"{error.code:03d} {reply}" if error.code > 0 else reply
    else:
        why = str(error)
    return " ".join(why.split()) or type(error).__name__


class Mailer:
    """Sends messages through one SMTP server (see module docstring)."""

    def __init__(self, settings: SmtpSettings, reactor: Any) -> None:
        if settings.security not in ("starttls", "tls", "none"):
            raise ValueError(f"unknown SMTP security {settings.security!r}")
        self.settings = settings
        self._reactor = reactor
        self._tls = self._client_tls() if settings.security != "none" else None

    def __repr__(self) -> str:
        s = self.settings
        return f"<Mailer {s.host}:{s.port} {s.security}>"

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def _client_tls(self) -> Any:
        """Client TLS options checking the server's certificate against its host name."""
        s = self.settings
        if s.ca_file:
            try:
                with open(s.ca_file, "rb") as f:
                    pem = f.read()
                trust: Any = ssl.trustRootFromCertificates([ssl.Certificate.loadPEM(pem)])
            except (OSError, ValueError, ssl.SSL.Error, crypto.Error) as e:
                raise ValueError(f"cannot read smtp_ca_file {s.ca_file}: {e}") from None
        else:
            trust = ssl.platformTrust()
        return ssl.optionsForClientTLS(s.host, trustRoot=trust)

    def send(self, to: str, message: bytes) -> Deferred[None]:
        """
        Hand C{message} for C{to} to the server. Deferred[None] once accepted;
        fails with L{Unavailable} naming the server (never the recipient).
        """
        s = self.settings
        sent: Deferred[Any] = Deferred()
        factory = _QuietSenderFactory(
            s.username.encode() if s.username else None,
            s.password.encode() if s.password else None,
            s.sender,
            to,
            BytesIO(message),
            sent,
            retries=0,
            timeout=s.timeout,
            contextFactory=self._tls if s.security == "starttls" else None,
            heloFallback=False,
            requireAuthentication=bool(s.username),
            requireTransportSecurity=s.security != "none",
            hostname=s.host,
        )
        if s.security == "tls":
            connector = self._reactor.connectSSL(s.host, s.port, factory, self._tls, s.timeout)
        else:
            connector = self._reactor.connectTCP(s.host, s.port, factory, s.timeout)
        # The whole exchange has one deadline: a server trickling replies
        # would keep resetting the client's idle timeout. Twisted's sender
        # must keep its own Deferred (it fires it when the connection we
        # drop at the deadline goes), so the outcome is a Deferred of ours
        # that takes whichever comes first.
        outcome: Deferred[Any] = Deferred()

        def settle(result: Any) -> None:
            if outcome.called:
                return
            if isinstance(result, Failure):
                outcome.errback(result)
            else:
                outcome.callback(result)

        def expire() -> None:
            if not outcome.called:
                outcome.errback(Failure(TimeoutError(f"no answer within {s.timeout:g} s")))
            connector.disconnect()

        sent.addBoth(settle)
        timer = self._reactor.callLater(s.timeout, expire)

        def done(_: object) -> None:
            if timer.active():
                timer.cancel()

        def failed(reason: Failure) -> Failure:
            if timer.active():
                timer.cancel()
            connector.disconnect()
            log.warn(
                "a sign-in e-mail could not be sent through {where}: {why}",
                where=self.where,
                why=_reason(reason),
            )
            return Failure(Unavailable(f"the e-mail could not be sent through {self.where}"))

        return outcome.addCallbacks(done, failed)
