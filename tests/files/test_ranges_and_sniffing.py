"""The logic under the HTTP layer: Range headers, If-None-Match, and type sniffing."""

from __future__ import annotations

import pytest

from hubsd.files.sniff import EXTENSIONS, sniff
from hubsd.web.ranges import MAX_RANGES, Unsatisfiable, etag_matches, parse_ranges


@pytest.mark.parametrize(
    ("header", "spans"),
    [
        ("bytes=0-0", [(0, 1)]),
        ("bytes=0-99", [(0, 100)]),
        ("bytes=90-", [(90, 100)]),
        ("bytes=-10", [(90, 100)]),
        ("bytes=-1000", [(0, 100)]),
        ("bytes=50-5000", [(50, 100)]),
        ("BYTES = 1-2 , 5-6", [(1, 3), (5, 7)]),
        ("bytes=5-6,1-2", [(5, 7), (1, 3)]),  # the order asked
        ("bytes=0-10,5-20,30-40", [(0, 21), (30, 41)]),  # overlaps merged
        ("bytes=0-10,200-300", [(0, 11)]),  # the one past the end dropped
        ("bytes=-0,0-1", [(0, 2)]),
    ],
)
def test_ranges_are_read_as_the_rfc_says(header: str, spans: list[tuple[int, int]]) -> None:
    assert parse_ranges(header, 100) == spans


@pytest.mark.parametrize(
    "header",
    [None, "", "bytes", "items=0-1", "bytes=a-b", "bytes=5-1", "bytes=-", "bytes=1-2-3", "bytes= "],
)
def test_headers_not_understood_mean_the_whole_file(header: str | None) -> None:
    assert parse_ranges(header, 100) is None


def test_too_many_ranges_mean_the_whole_file() -> None:
    spec = ",".join(f"{i}-{i}" for i in range(MAX_RANGES))
    assert len(parse_ranges("bytes=" + spec, 100) or []) == MAX_RANGES
    assert parse_ranges("bytes=" + spec + ",50-50", 100) is None


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200,300-", "bytes=-0"])
def test_ranges_past_the_end_are_unsatisfiable(header: str) -> None:
    with pytest.raises(Unsatisfiable, match=r"bytes \*/100"):
        parse_ranges(header, 100)


def test_an_empty_file_has_no_satisfiable_range() -> None:
    with pytest.raises(Unsatisfiable):
        parse_ranges("bytes=-5", 0)


def test_if_none_match() -> None:
    assert etag_matches('"a"', '"a"')
    assert etag_matches('W/"a"', '"a"')
    assert etag_matches('"b", "a"', '"a"')
    assert etag_matches("*", '"a"')
    assert not etag_matches('"b"', '"a"')
    assert not etag_matches(None, '"a"')
    assert not etag_matches("", '"a"')


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe1 exif", "image/jpeg"),
        (b"GIF89a....", "image/gif"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
        (b"RIFF\0\0\0\0WAVEfmt ", "audio/wav"),
        (b"glTF\x02\x00\x00\x00....", "model/gltf-binary"),
        (b"\0\0\0\x18ftypmp42", "video/mp4"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
        (b"OggS\0\x02", "audio/ogg"),
        (b"ID3\x04\0", "audio/mpeg"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b'{"asset": {"version": "2.0"}, "nodes": []}', "model/gltf+json"),
        (b'  {"nodes": [], "asset": {"version": "2.0"}}', "model/gltf+json"),
        (b'{"nodes": []}', None),
        (b'{"asset": "x"', None),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", None),
        (b"<!DOCTYPE html><html>", None),
        (b"  <svg xmlns='http://www.w3.org/2000/svg'>", None),
        (b"\x89PNG\r\n\x1a\n<script>alert(1)</script>", None),
        (b"GIF89a<html><body>", None),
        (b"plain text", None),
        (b"", None),
    ],
)
def test_types_come_from_the_bytes(head: bytes, kind: str | None) -> None:
    assert sniff(head) == kind
    assert kind is None or kind in EXTENSIONS
