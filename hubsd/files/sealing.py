"""
The format of an encrypted file at rest: a header, then sealed chunks.

A blob is ``header ‖ chunk 0 ‖ chunk 1 ‖ … ‖ chunk n-1``; n is at least 1,
so an empty file still has one (empty, final) chunk.

The header (57 bytes)::

    magic "HUBSDENC" (8) ‖ version 1 (1) ‖ chunk size, big-endian (4) ‖
    salt (16, random) ‖ key-check nonce (12) ‖ key-check tag (16)

The file key is HKDF-SHA256 of the access token, salted with the server's
file secret, with the file id and the header's salt in its info: every
upload has its own key even if a token were ever reused, and a blob copied
under another id does not open. The server keeps neither token nor key.

The key check is AES-256-GCM over nothing, with the first 29 header bytes as
associated data: opening it proves the key (the token) right and the header
untouched, for the cost of one HKDF and one tag, whatever the file's size.

Each chunk is ``nonce (12, random) ‖ AES-256-GCM ciphertext ‖ tag (16)`` of
``chunk size`` plaintext bytes (the last one: 0 to chunk size). Its
associated data is the first 29 header bytes ‖ the chunk's index (8 bytes,
big-endian) ‖ 1 for the final chunk, 0 otherwise: a chunk moved, swapped,
dropped, or cut off at the end (the new last chunk was not sealed as final)
fails to open. Fixed chunk sizes let a range be served from the chunks it
covers without reading the rest.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hubsd.files.errors import FileDamaged, WrongKey

MAGIC = b"HUBSDENC"
VERSION = 1
#: Plaintext bytes per chunk of new files (readers take what the header says).
CHUNK_SIZE = 64 * 1024
#: Largest chunk size a header may name (bounds what one read allocates).
MAX_CHUNK_SIZE = 16 * 1024 * 1024
NONCE_SIZE = 12
TAG_SIZE = 16
SALT_SIZE = 16
#: What sealing adds to each chunk.
CHUNK_OVERHEAD = NONCE_SIZE + TAG_SIZE

_FIELDS = struct.Struct(">8sBI16s")
FIELDS_SIZE = _FIELDS.size
HEADER_SIZE = FIELDS_SIZE + NONCE_SIZE + TAG_SIZE
_INDEX = struct.Struct(">QB")
_CHECK = b"hubsd key check"


def file_key(secret: bytes, token: str, file_id: str, salt: bytes) -> bytes:
    """The 32-byte AES key of one file (see the module docstring)."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=secret,
        info=b"hubsd file v1\x00" + file_id.encode("ascii") + b"\x00" + salt,
    )
    return hkdf.derive(token.encode("utf-8", "surrogatepass"))


class Sealer:
    """
    Encrypts one file as it arrives: L{push} plaintext, get sealed bytes
    back as whole chunks fill; L{finish} seals the rest as the final chunk.
    At most one chunk of plaintext is held.
    """

    def __init__(
        self, secret: bytes, token: str, file_id: str, chunk_size: int = CHUNK_SIZE
    ) -> None:
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk size must be 1 to {MAX_CHUNK_SIZE}")
        salt = os.urandom(SALT_SIZE)
        self._fields = _FIELDS.pack(MAGIC, VERSION, chunk_size, salt)
        self._aead = AESGCM(file_key(secret, token, file_id, salt))
        nonce = os.urandom(NONCE_SIZE)
        check = self._aead.encrypt(nonce, b"", _CHECK + self._fields)
        #: The blob's first bytes.
        self.header = self._fields + nonce + check
        self._chunk_size = chunk_size
        self._buffer = bytearray()
        self._index = 0
        self._finished = False

    def push(self, data: bytes) -> bytes:
        """Sealed chunks for the chunks C{data} completes (often b"")."""
        if self._finished:
            raise ValueError("this file is sealed already")
        self._buffer += data
        size = self._chunk_size
        if len(self._buffer) < size:
            return b""
        out = []
        # A chunk that exactly fills the buffer is kept back: it may be the
        # last, and the final one must be sealed as final.
        while len(self._buffer) > size:
            out.append(self._seal(bytes(self._buffer[:size]), final=False))
            del self._buffer[:size]
        return b"".join(out)

    def finish(self) -> bytes:
        """The final chunk (what is buffered, maybe nothing)."""
        if self._finished:
            raise ValueError("this file is sealed already")
        self._finished = True
        last = self._seal(bytes(self._buffer), final=True)
        self._buffer = bytearray()
        return last

    def _seal(self, plaintext: bytes, final: bool) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        aad = self._fields + _INDEX.pack(self._index, final)
        self._index += 1
        return nonce + self._aead.encrypt(nonce, plaintext, aad)


@dataclass(frozen=True)
class Layout:
    """Where a file's chunks are in its blob."""

    chunk_size: int
    chunks: int
    #: The plaintext's length.
    size: int

    @property
    def sealed_chunk(self) -> int:
        return self.chunk_size + CHUNK_OVERHEAD

    def chunk_offset(self, index: int) -> int:
        """The blob offset of chunk C{index}."""
        return HEADER_SIZE + index * self.sealed_chunk


class Opener:
    """
    Decrypts one file, given its header and the access token.

    @raise FileDamaged: the header is not one this version writes.
    @raise WrongKey: the token (or the header's authenticated part) is wrong.
    """

    def __init__(self, secret: bytes, token: str, file_id: str, header: bytes | memoryview) -> None:
        if len(header) != HEADER_SIZE:
            raise FileDamaged(f"file {file_id}: header is {len(header)} bytes")
        header = bytes(header)
        fields = header[:FIELDS_SIZE]
        magic, version, chunk_size, salt = _FIELDS.unpack(fields)
        if magic != MAGIC:
            raise FileDamaged(f"file {file_id}: not a hubsd encrypted file")
        if version != VERSION:
            raise FileDamaged(f"file {file_id}: unknown format version {version}")
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise FileDamaged(f"file {file_id}: bad chunk size {chunk_size}")
        self.file_id = file_id
        self._fields = fields
        self._aead = AESGCM(file_key(secret, token, file_id, salt))
        nonce, check = header[FIELDS_SIZE : FIELDS_SIZE + NONCE_SIZE], header[-TAG_SIZE:]
        try:
            self._aead.decrypt(nonce, check, _CHECK + fields)
        except InvalidTag:
            raise WrongKey(file_id) from None
        self.chunk_size = chunk_size
        #: The header: public, and new for every blob (an ETag is made of it).
        self.fingerprint = bytes(header)

    def layout(self, blob_size: int) -> Layout:
        """The chunks of a blob of C{blob_size} bytes; FileDamaged if it was cut mid-chunk."""
        body = blob_size - HEADER_SIZE
        sealed = self.chunk_size + CHUNK_OVERHEAD
        chunks = max(1, -(-body // sealed))
        last = body - (chunks - 1) * sealed - CHUNK_OVERHEAD
        if body < CHUNK_OVERHEAD or not 0 <= last <= self.chunk_size:
            raise FileDamaged(f"file {self.file_id}: truncated ({blob_size} bytes)")
        return Layout(self.chunk_size, chunks, (chunks - 1) * self.chunk_size + last)

    def open_chunk(self, index: int, sealed: bytes | memoryview, final: bool) -> bytes:
        """The plaintext of chunk C{index}; FileDamaged if it does not open."""
        nonce = bytes(sealed[:NONCE_SIZE])
        try:
            return self._aead.decrypt(
                nonce, sealed[NONCE_SIZE:], self._fields + _INDEX.pack(index, final)
            )
        except (InvalidTag, ValueError):
            raise FileDamaged(f"file {self.file_id}: chunk {index} does not open") from None
