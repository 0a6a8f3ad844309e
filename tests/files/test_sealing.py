"""
The encrypted file format (hubsd.files.sealing): what seals opens with the
right token only, and any change to a header or chunk, any reordering or
truncation, fails with a clean error instead of wrong bytes.
"""

from __future__ import annotations

import os

import pytest

from hubsd.files.errors import FileDamaged, WrongKey
from hubsd.files.sealing import CHUNK_OVERHEAD, HEADER_SIZE, Opener, Sealer

SECRET = os.urandom(64)
FILE_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
TOKEN = "a" * 32


def seal(data: bytes, chunk_size: int = 16, pieces: int = 7, token: str = TOKEN) -> bytes:
    sealer = Sealer(SECRET, token, FILE_ID, chunk_size)
    out = [sealer.header]
    for i in range(0, len(data), pieces):
        out.append(sealer.push(data[i : i + pieces]))
    out.append(sealer.finish())
    return b"".join(out)


def unseal(blob: bytes, token: str = TOKEN, file_id: str = FILE_ID) -> bytes:
    opener = Opener(SECRET, token, file_id, blob[:HEADER_SIZE])
    layout = opener.layout(len(blob))
    out = []
    for i in range(layout.chunks):
        start = layout.chunk_offset(i)
        piece = blob[start : start + layout.sealed_chunk]
        out.append(opener.open_chunk(i, piece, i == layout.chunks - 1))
    data = b"".join(out)
    assert len(data) == layout.size
    return data


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 32, 33, 100])
def test_every_size_round_trips(size: int) -> None:
    data = os.urandom(size)
    blob = seal(data)
    assert unseal(blob) == data
    chunks = max(1, -(-size // 16))
    assert len(blob) == HEADER_SIZE + size + chunks * CHUNK_OVERHEAD


def test_the_same_bytes_seal_differently_each_time() -> None:
    data = b"the same picture" * 10
    first, second = seal(data), seal(data)
    assert first != second
    assert data[:16] not in first and data[:16] not in second


def test_a_wrong_token_or_another_id_does_not_open() -> None:
    blob = seal(b"hello world")
    with pytest.raises(WrongKey):
        unseal(blob, token="b" * 32)
    with pytest.raises(WrongKey):
        unseal(blob, file_id="7c9e6679-7425-40de-944b-e07fc1f90ae7")


@pytest.mark.parametrize("where", [8, 9, 12, 13, 28, 29, 40, HEADER_SIZE - 1])
def test_a_changed_header_is_refused(where: int) -> None:
    blob = bytearray(seal(b"hello world"))
    blob[where] ^= 1
    with pytest.raises((WrongKey, FileDamaged)):
        unseal(bytes(blob))


def test_a_foreign_or_future_header_is_damage_not_a_wrong_key() -> None:
    blob = seal(b"x")
    with pytest.raises(FileDamaged, match="not a hubsd encrypted file"):
        unseal(b"NOTHUBSD" + blob[8:])
    with pytest.raises(FileDamaged, match="version 2"):
        unseal(blob[:8] + b"\x02" + blob[9:])
    with pytest.raises(FileDamaged, match="header"):
        Opener(SECRET, TOKEN, FILE_ID, blob[:20])


@pytest.mark.parametrize("where", [0, 11, 12, 20, 43])
def test_a_changed_chunk_byte_fails_that_chunk(where: int) -> None:
    blob = bytearray(seal(os.urandom(40)))
    blob[HEADER_SIZE + 44 + where] ^= 0x80  # in the second chunk
    with pytest.raises(FileDamaged, match="chunk 1"):
        unseal(bytes(blob))


def test_swapped_chunks_fail() -> None:
    blob = seal(os.urandom(48))  # three chunks, the third sealed as final
    size = 16 + CHUNK_OVERHEAD
    c0 = blob[HEADER_SIZE : HEADER_SIZE + size]
    c1 = blob[HEADER_SIZE + size : HEADER_SIZE + 2 * size]
    swapped = blob[:HEADER_SIZE] + c1 + c0 + blob[HEADER_SIZE + 2 * size :]
    with pytest.raises(FileDamaged, match="chunk 0"):
        unseal(swapped)


def test_truncation_fails_at_a_chunk_boundary_and_inside_a_chunk() -> None:
    blob = seal(os.urandom(40))
    size = 16 + CHUNK_OVERHEAD
    with pytest.raises(FileDamaged, match="does not open"):
        unseal(blob[: HEADER_SIZE + 2 * size])  # the final chunk dropped
    with pytest.raises(FileDamaged, match="truncated"):
        unseal(blob[: HEADER_SIZE + 2 * size + 5])
    with pytest.raises(FileDamaged, match="truncated"):
        unseal(blob[:HEADER_SIZE])


def test_a_chunk_from_another_file_with_the_same_token_does_not_fit() -> None:
    one, two = seal(os.urandom(20)), seal(os.urandom(20))
    mixed = one[:HEADER_SIZE] + two[HEADER_SIZE:]
    with pytest.raises(FileDamaged):
        unseal(mixed)


def test_a_sealer_is_finished_once() -> None:
    sealer = Sealer(SECRET, TOKEN, FILE_ID)
    sealer.finish()
    with pytest.raises(ValueError):
        sealer.push(b"more")
    with pytest.raises(ValueError):
        sealer.finish()
    with pytest.raises(ValueError):
        Sealer(SECRET, TOKEN, FILE_ID, chunk_size=0)
