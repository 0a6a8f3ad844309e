"""The signing keys: made once into the state directory, kept private, refused when damaged."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hubsd.rooms import keys
from hubsd.rooms.keys import SECRET_BYTES, KeyFileError, KeyRing

FILES = ("session.key", "account.key", "perms.pem")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def pem(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, password: bytes | None = None
) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


@pytest.fixture(scope="module")
def made_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state dir whose keys were made once; tests copy it rather than wait
    for another RSA key."""
    state = tmp_path_factory.mktemp("state")
    KeyRing.load_or_create(str(state))
    return state


@pytest.fixture
def state(made_once: Path, tmp_path: Path) -> Path:
    """A fresh copy of ``made_once``, modes kept."""
    (tmp_path / "keys").mkdir(0o700)
    for name in FILES:
        target = tmp_path / "keys" / name
        target.write_bytes((made_once / "keys" / name).read_bytes())
        target.chmod(0o600)
    return tmp_path


@pytest.fixture
def umask_zero() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_first_start_makes_a_private_key_directory_and_three_private_files(
    tmp_path: Path, umask_zero: None
) -> None:
    ring = KeyRing.load_or_create(str(tmp_path))
    assert mode(tmp_path / "keys") == 0o700
    assert sorted(os.listdir(tmp_path / "keys")) == sorted(FILES)  # no temporary left
    for name in FILES:
        assert mode(tmp_path / "keys" / name) == 0o600
    assert (tmp_path / "keys" / "session.key").read_bytes() == ring.session_secret
    assert (tmp_path / "keys" / "account.key").read_bytes() == ring.account_secret
    assert len(ring.session_secret) == len(ring.account_secret) == SECRET_BYTES == 64
    assert ring.session_secret != ring.account_secret
    text = (tmp_path / "keys" / "perms.pem").read_bytes()
    assert text.startswith(b"-----BEGIN PRIVATE KEY-----\n")  # PKCS8
    assert isinstance(ring.perms_private_key, rsa.RSAPrivateKey)
    assert ring.perms_private_key.key_size == 2048
    assert ring.perms_public_pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")
    public = serialization.load_pem_public_key(ring.perms_public_pem)
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.public_numbers() == ring.perms_private_key.public_key().public_numbers()


def test_later_starts_reuse_the_keys(state: Path, made_once: Path) -> None:
    first = KeyRing.load_or_create(str(made_once))
    again = KeyRing.load_or_create(str(state))
    assert again.session_secret == first.session_secret
    assert again.account_secret == first.account_secret
    assert again.perms_public_pem == first.perms_public_pem


def test_two_state_dirs_get_different_keys(made_once: Path, tmp_path: Path) -> None:
    one = KeyRing.load_or_create(str(made_once))
    other = KeyRing.load_or_create(str(tmp_path))
    assert other.session_secret != one.session_secret
    assert other.account_secret != one.account_secret
    assert other.perms_public_pem != one.perms_public_pem


def test_a_missing_key_file_is_made_and_the_others_kept(state: Path) -> None:
    before = KeyRing.load_or_create(str(state))
    (state / "keys" / "account.key").unlink()
    after = KeyRing.load_or_create(str(state))
    assert after.session_secret == before.session_secret
    assert after.perms_public_pem == before.perms_public_pem
    assert after.account_secret != before.account_secret
    assert mode(state / "keys" / "account.key") == 0o600


def test_a_key_file_that_appeared_meanwhile_is_used_not_replaced(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two starts racing: the one that loses the link reads the winner's key."""
    theirs = (state / "keys" / "session.key").read_bytes()
    real_read = keys._read_private
    seen: list[str] = []

    def read_missing_once(path: str) -> bytes | None:
        if path.endswith("session.key") and not seen:
            seen.append(path)
            return None  # as if it did not exist yet when we looked
        return real_read(path)

    monkeypatch.setattr(keys, "_read_private", read_missing_once)
    ring = KeyRing.load_or_create(str(state))
    assert seen
    assert ring.session_secret == theirs
    assert (state / "keys" / "session.key").read_bytes() == theirs
    assert sorted(os.listdir(state / "keys")) == sorted(FILES)


def test_a_dangling_link_in_place_of_a_key_is_refused(state: Path) -> None:
    path = state / "keys" / "session.key"
    path.unlink()
    path.symlink_to(state / "nowhere")
    with pytest.raises(KeyFileError) as caught:
        KeyRing.load_or_create(str(state))
    assert caught.value.path == str(path)
    assert caught.value.reason == "exists but cannot be opened (a dangling link?)"


def test_a_link_to_a_private_key_file_is_followed(
    state: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("etc") / "session.key"
    path = state / "keys" / "session.key"
    os.rename(path, elsewhere)
    path.symlink_to(elsewhere)
    assert KeyRing.load_or_create(str(state)).session_secret == elsewhere.read_bytes()


def _chmod(mode_bits: int) -> Callable[[Path], object]:
    return lambda path: path.chmod(mode_bits)


def _truncate(size: int) -> Callable[[Path], object]:
    return lambda path: path.write_bytes(path.read_bytes()[:size])


def _append(extra: bytes) -> Callable[[Path], object]:
    return lambda path: path.write_bytes(path.read_bytes() + extra)


def _replace(data: bytes) -> Callable[[Path], object]:
    return lambda path: path.write_bytes(data)


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir(0o700)


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path, 0o600)


def _sized(size: int) -> Callable[[Path], object]:
    return lambda path: path.write_bytes(b"x" * size)


def _loop(path: Path) -> None:
    path.unlink()
    path.symlink_to(path)


ACCESSIBLE = "is accessible by group or others (mode %s); chmod 600 it"
NOT_PEM = "is not an unencrypted PEM private key (truncated or damaged?)"
NOT_RSA = "is not an RSA private key of at least 2048 bits"


SECRET_DAMAGE: list[tuple[str, Callable[[Path], object], str]] = [
    ("group readable", _chmod(0o640), ACCESSIBLE % "0640"),
    ("world readable", _chmod(0o604), ACCESSIBLE % "0604"),
    ("group writable", _chmod(0o620), ACCESSIBLE % "0620"),
    ("world executable", _chmod(0o601), ACCESSIBLE % "0601"),
    ("empty", _truncate(0), "is truncated (0 bytes, expected 64)"),
    ("one byte short", _truncate(63), "is truncated (63 bytes, expected 64)"),
    ("one byte long", _append(b"\n"), "is not a hubsd secret (65 bytes, expected 64)"),
    ("64 KiB", _sized(64 * 1024), "is not a hubsd secret (65536 bytes, expected 64)"),
    ("over 64 KiB", _sized(64 * 1024 + 1), "is too large to be a key file"),
    ("a link to itself", _loop, "cannot be opened: Too many levels of symbolic links"),
    ("a directory", _directory, "is a directory, not a key file"),
    ("a fifo", _fifo, "is not a regular file"),
]


@pytest.mark.parametrize("name", ["session.key", "account.key"])
@pytest.mark.parametrize(
    ("damage", "expected"),
    [(d, e) for _, d, e in SECRET_DAMAGE],
    ids=[what for what, _, _ in SECRET_DAMAGE],
)
def test_a_damaged_secret_is_refused_naming_the_file(
    state: Path, name: str, damage: Callable[[Path], object], expected: str
) -> None:
    path = state / "keys" / name
    secret = path.read_bytes()
    damage(path)
    with pytest.raises(KeyFileError) as caught:
        KeyRing.load_or_create(str(state))
    assert caught.value.path == str(path)
    assert caught.value.reason == expected
    assert caught.value.args == (str(path), expected)
    assert str(caught.value) == f"key file {path}: {caught.value.reason}"
    for text in (str(caught.value), repr(caught.value)):
        assert secret[:8].hex() not in text and repr(secret[:8])[2:-1] not in text


def test_the_same_secret_for_sessions_and_accounts_is_refused(state: Path) -> None:
    session = (state / "keys" / "session.key").read_bytes()
    (state / "keys" / "account.key").write_bytes(session)
    with pytest.raises(KeyFileError) as caught:
        KeyRing.load_or_create(str(state))
    assert caught.value.path == str(state / "keys" / "account.key")
    assert caught.value.reason == (
        "holds the same secret as session.key; remove one to make a new one"
    )


def _rsa_1024(path: Path) -> None:
    path.write_bytes(pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)))


def _ec_key(path: Path) -> None:
    path.write_bytes(pem(ec.generate_private_key(ec.SECP256R1())))


def _encrypted(path: Path) -> None:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    path.write_bytes(pem(key, password=b"secret"))


PEM_DAMAGE: list[tuple[str, Callable[[Path], object], str]] = [
    ("group readable", _chmod(0o640), ACCESSIBLE % "0640"),
    ("world readable", _chmod(0o644), ACCESSIBLE % "0644"),
    ("empty", _truncate(0), NOT_PEM),
    ("cut in half", _truncate(800), NOT_PEM),
    ("garbage", _replace(b"not a key at all\n"), NOT_PEM),
    ("encrypted", _encrypted, NOT_PEM),
    ("an EC key", _ec_key, NOT_RSA),
    ("RSA 1024", _rsa_1024, NOT_RSA),
    ("a fifo", _fifo, "is not a regular file"),
    ("a directory", _directory, "is a directory, not a key file"),
]


@pytest.mark.parametrize(
    ("damage", "expected"), [(d, e) for _, d, e in PEM_DAMAGE], ids=[w for w, _, _ in PEM_DAMAGE]
)
def test_a_damaged_perms_key_is_refused_naming_the_file(
    state: Path, damage: Callable[[Path], object], expected: str
) -> None:
    path = state / "keys" / "perms.pem"
    original = path.read_bytes()
    damage(path)
    with pytest.raises(KeyFileError) as caught:
        KeyRing.load_or_create(str(state))
    assert caught.value.path == str(path)
    assert caught.value.reason == expected
    body = original.splitlines()[5].decode()  # a line of the key itself
    assert body not in str(caught.value)


def test_a_key_directory_others_can_use_is_refused(state: Path) -> None:
    (state / "keys").chmod(0o750)
    with pytest.raises(KeyFileError) as caught:
        KeyRing.load_or_create(str(state))
    assert caught.value.path == str(state / "keys")
    assert caught.value.reason == "is accessible by group or others (mode 0750); chmod 700 it"


def test_a_file_in_place_of_the_key_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keys").write_bytes(b"")
    with pytest.raises(KeyFileError) as caught:
        KeyRing.load_or_create(str(tmp_path))
    assert caught.value.path == str(tmp_path / "keys")
    assert caught.value.reason == "is not a directory"


def test_a_missing_state_dir_is_refused_not_created(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError) as caught:
        KeyRing.load_or_create(str(tmp_path / "nosuch"))
    assert caught.value.path == str(tmp_path / "nosuch" / "keys")
    assert caught.value.reason == "cannot be created: No such file or directory"
    assert not (tmp_path / "nosuch").exists()


@pytest.mark.parametrize("failing", ["mkstemp", "fsync", "link"])
def test_a_key_that_cannot_be_written_is_refused_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keys.tempfile if failing == "mkstemp" else keys.os, failing, no_space)
    with pytest.raises(KeyFileError) as caught:
        KeyRing.load_or_create(str(tmp_path))
    assert caught.value.path == str(tmp_path / "keys" / "session.key")
    assert caught.value.reason == "cannot be written: No space left on device"
    assert os.listdir(tmp_path / "keys") == []  # the temporary file is gone


def test_a_new_key_is_written_beside_its_file_then_linked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Linked from the same directory (a link cannot cross file systems),
    under a hidden name that no key file has."""
    linked: list[tuple[str, str]] = []
    real_link = os.link

    def spy(source: str, target: str) -> None:
        linked.append((source, target))
        real_link(source, target)

    monkeypatch.setattr(keys.os, "link", spy)
    KeyRing.load_or_create(str(tmp_path))
    assert [target for _, target in linked] == [
        str(tmp_path / "keys" / name) for name in ("session.key", "account.key", "perms.pem")
    ]
    for source, _ in linked:
        assert os.path.dirname(source) == str(tmp_path / "keys")
        assert os.path.basename(source).startswith(".new-")


def test_a_key_file_that_cannot_be_read_is_refused_naming_it(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Failing:
        def __init__(self, fd: int, mode: str) -> None:
            os.close(fd)

        def __enter__(self) -> Failing:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def read(self, size: int) -> bytes:
            raise OSError(5, "Input/output error")

    monkeypatch.setattr(keys.os, "fdopen", Failing)
    with pytest.raises(KeyFileError) as caught:
        KeyRing.load_or_create(str(state))
    assert caught.value.path == str(state / "keys" / "session.key")
    assert caught.value.reason == "cannot be read: Input/output error"


def test_a_key_directory_that_cannot_be_examined_is_refused(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys_dir = str(state / "keys")
    real_stat = os.stat

    def failing_stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if str(path) == keys_dir:
            raise OSError(13, "Permission denied")
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(keys.os, "stat", failing_stat)
    with pytest.raises(KeyFileError) as caught:
        KeyRing.load_or_create(str(state))
    assert caught.value.args == (keys_dir, "cannot be read: Permission denied")


def test_a_keyring_never_shows_its_keys() -> None:
    ring = KeyRing.generate()
    text = repr(ring) + str(ring)
    assert ring.session_secret.hex()[:16] not in text
    assert repr(ring.session_secret)[2:18] not in text
    assert repr(ring) == "<KeyRing (keys not shown)>"


GOOD_SECRET = b"s" * 64
OTHER_SECRET = b"a" * 64


@pytest.mark.parametrize(
    ("session", "account", "key", "message"),
    [
        (b"s" * 32, OTHER_SECRET, None, "a token secret must be 64 bytes"),
        (GOOD_SECRET, b"a" * 65, None, "a token secret must be 64 bytes"),
        ("s" * 64, OTHER_SECRET, None, "a token secret must be 64 bytes"),
        (GOOD_SECRET, GOOD_SECRET, None, "the session and account secrets must differ"),
        (GOOD_SECRET, OTHER_SECRET, "ec", "the perms key must be an RSA private key"),
        (GOOD_SECRET, OTHER_SECRET, "rsa1024", "the perms key must have at least 2048 bits"),
    ],
)
def test_a_keyring_refuses_weak_keys(
    session: bytes, account: bytes, key: str | None, message: str
) -> None:
    makers: dict[str | None, Callable[[], object]] = {
        None: lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec": lambda: ec.generate_private_key(ec.SECP256R1()),
        "rsa1024": lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024),
    }
    perms = makers[key]()
    with pytest.raises(ValueError) as caught:
        KeyRing(session, account, perms)  # type: ignore[arg-type]
    assert str(caught.value) == message
