"""
The admin console: a Python prompt inside the running daemon, over telnet
and/or SSH, built from Twisted Conch.

Least privilege: it is off unless an endpoint is configured, the config
refuses non-loopback endpoints unless ``allow_remote`` is set, and every
login is checked against a password file (telnet, SSH) or authorized SSH
keys. The SSH host key is generated on first use and kept in the state dir.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from collections.abc import Iterator, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from twisted.conch import manhole, manhole_ssh
from twisted.conch.checkers import IAuthorizedKeysDB, SSHPublicKeyChecker
from twisted.conch.insults import insults
from twisted.conch.manhole_tap import chainedProtocolFactory
from twisted.conch.ssh import keys
from twisted.conch.telnet import AuthenticatingTelnetProtocol, ITelnetProtocol, TelnetTransport
from twisted.cred import checkers, portal
from twisted.internet.protocol import ServerFactory
from zope.interface import implementer


def endpoint_is_local(description: str) -> bool:
    """
    True if a server endpoint string only accepts local connections: a unix
    socket, or a TCP-like endpoint whose ``interface`` is a loopback address.
    """
    kind = description.split(":", 1)[0]
    if kind == "unix":
        return True
    m = re.search(r"(?:^|:)interface=((?:\\:|[^:])+)", description)
    if m is None:
        return False
    host = m.group(1).replace("\\:", ":")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ManholeSetupError(Exception):
    """The console cannot be started; the message says which file and why."""


def private_file_problem(path: str) -> str | None:
    """
    What is wrong with C{path} as a console secret (a passwd or
    authorized_keys file), or None: it must be a regular file this process
    can read, and no one but its owner may read or write it (a group- or
    world-readable password file is as good as published). Start-up and
    ``hubsd check-config`` both ask this, so they refuse the same files.
    """
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return "is not a regular file"
        with open(path, "rb"):
            pass
    except OSError as e:
        return f"cannot be read: {e.strerror}"
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode = stat.S_IMODE(st.st_mode)
        return f"is readable or writable by group or others (mode {mode:04o}); chmod 600 it"
    return None


def _private_file(path: str, what: str) -> str:
    problem = private_file_problem(path)
    if problem is not None:
        raise ManholeSetupError(f"manhole {what} {path} {problem}")
    return path


@implementer(IAuthorizedKeysDB)
class _KeysForAnyUser:
    """authorized_keys semantics: the key is the identity, any user name."""

    def __init__(self, path: str) -> None:
        self._path = path

    def getAuthorizedKeys(self, username: bytes) -> Iterator[keys.Key]:
        with open(self._path, "rb") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith(b"#"):
                    try:
                        yield keys.Key.fromString(line)
                    except keys.BadKeyError:
                        continue


@implementer(portal.IRealm)
class _TelnetRealm:
    """Hands an authenticated telnet user a colored Python prompt."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self._namespace = namespace

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        # Only AuthenticatingTelnetProtocol logs in through this realm's
        # portal, and it always asks for ITelnetProtocol.
        if ITelnetProtocol not in interfaces:
            raise TypeError(f"the telnet console offers only ITelnetProtocol, not {interfaces}")
        from twisted.conch.telnet import TelnetBootstrapProtocol

        proto = TelnetBootstrapProtocol(
            insults.ServerProtocol, manhole.ColoredManhole, self._namespace
        )
        return ITelnetProtocol, proto, lambda: None


def _host_key(state_dir: str) -> keys.Key:
    path = os.path.join(state_dir, "manhole_host_key")
    if os.path.exists(path):
        with open(path, "rb") as f:
            return keys.Key.fromString(f.read())
    key = keys.Key(ed25519.Ed25519PrivateKey.generate())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.toString("openssh"))
    return key


def telnet_factory(options: Mapping[str, Any], namespace: dict[str, Any]) -> ServerFactory:
    """A telnet console factory checking logins against the passwd file."""
    checker = checkers.FilePasswordDB(_private_file(options["passwd"], "passwd file"))
    console_portal = portal.Portal(_TelnetRealm(namespace), [checker])
    factory = ServerFactory()
    factory.protocol = lambda: TelnetTransport(AuthenticatingTelnetProtocol, console_portal)
    return factory


def ssh_factory(
    options: Mapping[str, Any], namespace: dict[str, Any], state_dir: str
) -> ServerFactory:
    """An SSH console factory accepting passwords and/or authorized keys."""
    credential_checkers: list[Any] = []
    if options["passwd"]:
        credential_checkers.append(
            checkers.FilePasswordDB(_private_file(options["passwd"], "passwd file"))
        )
    if options["authorized_keys"]:
        path = _private_file(options["authorized_keys"], "authorized_keys file")
        credential_checkers.append(SSHPublicKeyChecker(_KeysForAnyUser(path)))
    realm: Any = manhole_ssh.TerminalRealm()
    realm.chainedProtocolFactory = chainedProtocolFactory(namespace)
    factory: Any = manhole_ssh.ConchFactory(portal.Portal(realm, credential_checkers))
    key = _host_key(state_dir)
    factory.publicKeys = {key.sshType(): key.public()}
    factory.privateKeys = {key.sshType(): key}
    return factory
