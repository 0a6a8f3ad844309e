"""
What an upload is, from its first bytes (never from what the client says).

L{sniff} knows the media Hubs shows: images, glTF models, audio, video and
PDF. Anything else is None, and the upload endpoint refuses it; so is
anything that starts like markup, whatever else it looks like, so that no
stored file can be served as a page.
"""

from __future__ import annotations

import json
import re

#: Bytes L{sniff} wants to see (fewer for a shorter file).
SNIFF_BYTES = 4096

#: The types L{sniff} can name, and the extension used in file URLs.
EXTENSIONS: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "model/gltf-binary": "glb",
    "model/gltf+json": "gltf",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/wav": "wav",
    "application/pdf": "pdf",
}

_MARKUP = re.compile(rb"^\s*<|<\s*(script|html|svg|body|iframe)", re.IGNORECASE)


def sniff(head: bytes) -> str | None:
    """The media type of a file starting with C{head}, or None."""
    if _MARKUP.search(head):
        return None
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"glTF" and head[4:8] == b"\x02\x00\x00\x00":
        return "model/gltf-binary"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # Matroska; only its WebM profile is a web type.
        return "video/webm" if b"webm" in head[:64] else None
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if _looks_like_gltf_json(head):
        return "model/gltf+json"
    return None


def _looks_like_gltf_json(head: bytes) -> bool:
    """A JSON object whose first key is glTF's required ``asset`` (or that has one)."""
    text = head.lstrip()
    if not text.startswith(b"{"):
        return False
    if len(head) < SNIFF_BYTES:
        try:
            document = json.loads(head)
        except ValueError:
            return False
        return isinstance(document, dict) and isinstance(document.get("asset"), dict)
    return re.search(rb'"asset"\s*:\s*\{', head) is not None
