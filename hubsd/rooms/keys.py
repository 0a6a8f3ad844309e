"""
The keys hubsd signs its tokens with, generated once into the state directory.

``<state_dir>/keys/`` (mode 700) holds three files, each mode 600:

- ``session.key``: 64 random bytes, the HS512 secret of session tokens;
- ``account.key``: 64 other random bytes, the HS512 secret of account tokens
  (a separate key, so that one kind of token can never pass for the other even
  if their claims were confused: Reticulum's weakness 8.14);
- ``perms.pem``: an RSA 2048 private key (PKCS8 PEM) for the RS512 perms tokens
  that the SFU verifies with the public half.

HS512 wants a key at least as long as its 64-byte hash output (RFC 7518
section 3.2, and PyJWT warns below it), hence 64 bytes rather than 32.

A missing file is generated (written to a temporary file, synced, then
hard-linked into place, so a crash never leaves half a key and two starts racing
never overwrite each other's key). An existing file is used as it is, or refused
with a :class:`KeyFileError` naming the path: accessible by group or others, not
a regular file, truncated, unparsable. Keys are never repaired silently: a
changed key would invalidate every token already handed out.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from typing import TypeVar

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

#: Length of each HMAC secret: HS512's hash output (RFC 7518 section 3.2).
SECRET_BYTES = 64
#: Smallest RSA modulus accepted for perms tokens.
RSA_BITS = 2048
#: No key file is anywhere near this; a bigger one is not ours.
_MAX_FILE_BYTES = 64 * 1024

_T = TypeVar("_T")


class KeyFileError(Exception):
    """
    A key file or the key directory cannot be used; ``path`` names it and
    ``reason`` says why. The message never contains key material.
    """

    def __init__(self, path: str, reason: str) -> None:
        Exception.__init__(self, path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"key file {self.path}: {self.reason}"


class KeyRing:
    """
    The three signing keys, validated. ``repr`` never shows them, so a keyring
    that ends up in a log line or a traceback leaks nothing.
    """

    __slots__ = (
        "session_secret",
        "account_secret",
        "perms_private_key",
        "perms_public_key",
        "perms_public_pem",
    )

    def __init__(
        self,
        session_secret: bytes,
        account_secret: bytes,
        perms_private_key: rsa.RSAPrivateKey,
    ) -> None:
        """Raises ValueError unless both secrets are distinct 64-byte strings and
        the RSA key has at least 2048 bits."""
        for secret in (session_secret, account_secret):
            if not isinstance(secret, bytes) or len(secret) != SECRET_BYTES:
                raise ValueError(f"a token secret must be {SECRET_BYTES} bytes")
        if session_secret == account_secret:
            raise ValueError("the session and account secrets must differ")
        if not isinstance(perms_private_key, rsa.RSAPrivateKey):
            raise ValueError("the perms key must be an RSA private key")
        if perms_private_key.key_size < RSA_BITS:
            raise ValueError(f"the perms key must have at least {RSA_BITS} bits")
        self.session_secret = session_secret
        self.account_secret = account_secret
        self.perms_private_key = perms_private_key
        #: The public half, what verifies perms tokens.
        self.perms_public_key: rsa.RSAPublicKey = perms_private_key.public_key()
        self.perms_public_pem: bytes = self.perms_public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def __repr__(self) -> str:
        return "<KeyRing (keys not shown)>"

    @classmethod
    def generate(cls) -> KeyRing:
        """A keyring of fresh random keys kept in memory only (tests, tools)."""
        return cls(_new_secret(), _new_secret(), _new_rsa_key())

    @staticmethod
    def problem(state_dir: str) -> str | None:
        """
        Why L{load_or_create} would refuse the keys already in
        ``<state_dir>/keys``, or None. Read-only: creates nothing (missing
        keys are not a problem: the start makes them), for check-config.
        """
        keys_dir = os.path.join(state_dir, "keys")
        try:
            if not os.path.lexists(keys_dir):
                return None
            _private_directory(keys_dir)
            for name, parse in _FILES:
                path = os.path.join(keys_dir, name)
                data = _read_private(path)
                if data is not None:
                    parse(path, data)
        except KeyFileError as e:
            return str(e)
        return None

    @classmethod
    def load_or_create(cls, state_dir: str) -> KeyRing:
        """
        The keyring kept in ``<state_dir>/keys``: creates the directory (mode
        700) and any missing key file (mode 600, written atomically), reads
        back the existing ones. Raises KeyFileError naming the directory or
        file if the directory cannot be made or is accessible by others, or a
        file is not a private, regular, complete, parsable key file.
        """
        keys_dir = os.path.join(state_dir, "keys")
        _private_directory(keys_dir)
        session_path = os.path.join(keys_dir, "session.key")
        account_path = os.path.join(keys_dir, "account.key")
        session = _load_or_create(session_path, _new_secret, _parse_secret)
        account = _load_or_create(account_path, _new_secret, _parse_secret)
        if session == account:
            raise KeyFileError(
                account_path, "holds the same secret as session.key; remove one to make a new one"
            )
        perms = _load_or_create(os.path.join(keys_dir, "perms.pem"), _new_rsa_pem, _parse_rsa_pem)
        return cls(session, account, perms)


def _new_secret() -> bytes:
    return os.urandom(SECRET_BYTES)


def _new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)


def _new_rsa_pem() -> bytes:
    return _new_rsa_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _parse_secret(path: str, data: bytes) -> bytes:
    if len(data) < SECRET_BYTES:
        raise KeyFileError(path, f"is truncated ({len(data)} bytes, expected {SECRET_BYTES})")
    if len(data) > SECRET_BYTES:
        raise KeyFileError(
            path, f"is not a hubsd secret ({len(data)} bytes, expected {SECRET_BYTES})"
        )
    return data


def _parse_rsa_pem(path: str, data: bytes) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # The library's message is not shown: it could quote the file.
        raise KeyFileError(
            path, "is not an unencrypted PEM private key (truncated or damaged?)"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < RSA_BITS:
        raise KeyFileError(path, f"is not an RSA private key of at least {RSA_BITS} bits")
    return key


#: The key files and how each is read.
_FILES: tuple[tuple[str, Callable[[str, bytes], object]], ...] = (
    ("session.key", _parse_secret),
    ("account.key", _parse_secret),
    ("perms.pem", _parse_rsa_pem),
)


def _private_directory(path: str) -> None:
    """Makes ``path`` (mode 700) unless it exists; refuses it unless it is a
    directory that only its owner can use."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as e:
        raise KeyFileError(path, f"cannot be created: {e.strerror}") from None
    try:
        st = os.stat(path)
    except OSError as e:
        raise KeyFileError(path, f"cannot be read: {e.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise KeyFileError(path, "is not a directory")
    if st.st_mode & 0o077:
        raise KeyFileError(
            path,
            f"is accessible by group or others (mode {stat.S_IMODE(st.st_mode):04o}); chmod 700 it",
        )


def _load_or_create(path: str, make: Callable[[], bytes], parse: Callable[[str, bytes], _T]) -> _T:
    """Reads the key file at ``path``, making it first if it is missing."""
    data = _read_private(path)
    if data is None:
        _write_new(path, make())
        # Read back, not kept: checks what is on disk, and if another start
        # created the file between our read and our link, uses theirs.
        data = _read_private(path)
        if data is None:
            raise KeyFileError(path, "exists but cannot be opened (a dangling link?)")
    return parse(path, data)


def _read_private(path: str) -> bytes | None:
    """The bytes of the key file at ``path``, None if there is none; refuses a
    file that group or others may access or that is not a regular file."""
    try:
        # O_NONBLOCK: a FIFO planted in place of a key must not hang the start.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise KeyFileError(path, f"cannot be opened: {e.strerror}") from None
    try:
        # Checked on the open file, not the path: no window to swap the file.
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise KeyFileError(path, "is a directory, not a key file")
        if not stat.S_ISREG(st.st_mode):
            raise KeyFileError(path, "is not a regular file")
        if st.st_mode & 0o077:
            raise KeyFileError(
                path,
                f"is accessible by group or others (mode {stat.S_IMODE(st.st_mode):04o}); "
                "chmod 600 it",
            )
        # A buffered read returns all that was asked for unless the file ends.
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(_MAX_FILE_BYTES + 1)
    except OSError as e:
        raise KeyFileError(path, f"cannot be read: {e.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > _MAX_FILE_BYTES:
        raise KeyFileError(path, "is too large to be a key file")
    return data


def _write_new(path: str, data: bytes) -> None:
    """
    Writes ``data`` as the new file ``path`` (mode 600) atomically: the file
    appears complete or not at all. Leaves ``path`` as it is if it exists.
    """
    directory = os.path.dirname(path)
    try:
        # In the same directory: a hard link cannot cross file systems.
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".new-")  # mode 600
    except OSError as e:
        raise KeyFileError(path, f"cannot be written: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # link, not rename: it never replaces a key that appeared meanwhile.
        os.link(tmp, path)
    except FileExistsError:
        return
    except OSError as e:
        raise KeyFileError(path, f"cannot be written: {e.strerror}") from None
    finally:
        os.unlink(tmp)
    sync_directory(directory)


def sync_directory(path: str) -> None:
    """Makes a new directory entry durable (best effort: not every file system
    lets a directory be synced)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_or_create_secret(state_dir: str, name: str) -> bytes:
    """
    The 64-byte secret in ``<state_dir>/keys/<name>``, made on first use with
    the same rules as the keyring's files (private directory and file,
    written atomically, refused with a :class:`KeyFileError` rather than
    repaired). For secrets other parts keep, e.g. the file store's
    ``files.key``.
    """
    keys_dir = os.path.join(state_dir, "keys")
    _private_directory(keys_dir)
    return _load_or_create(os.path.join(keys_dir, name), _new_secret, _parse_secret)
