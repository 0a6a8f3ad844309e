"""
HTTP byte ranges (RFC 9110 section 14): which parts of a file a request wants.

L{parse_ranges} turns a ``Range`` header into half-open spans ``(start,
end)`` of a file of known size. A header it does not understand is ignored
(the whole file is sent, as the RFC allows); so are requests for more than
L{MAX_RANGES} ranges, which cost more to answer than the file.
"""

from __future__ import annotations

#: More ranges than this in one request are answered with the whole file.
MAX_RANGES = 16


class Unsatisfiable(Exception):
    """No range of the header falls inside the file (HTTP 416)."""


def parse_ranges(header: str | None, size: int) -> list[tuple[int, int]] | None:
    """
    The spans C{header} asks of a file of C{size} bytes, in the order asked
    (overlapping ones merged, then in file order), or None to send the
    whole file. @raise Unsatisfiable: every range lies past the end.
    """
    if header is None:
        return None
    unit, sep, specs = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    parts = [p.strip() for p in specs.split(",")]
    if len(parts) > MAX_RANGES:
        return None
    spans: list[tuple[int, int]] = []
    for part in parts:
        first, dash, last = part.partition("-")
        if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
            return None
        if first == "":
            if last == "":
                return None
            length = int(last)
            if length == 0 or size == 0:
                continue  # a suffix of nothing: unsatisfiable
            spans.append((max(0, size - length), size))
            continue
        start = int(first)
        if last != "" and int(last) < start:
            return None
        if start >= size:
            continue
        end = size - 1 if last == "" else int(last)
        spans.append((start, min(end, size - 1) + 1))
    if not spans:
        raise Unsatisfiable(f"bytes */{size}")
    return _merge_overlaps(spans)


def _merge_overlaps(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    ordered = sorted(spans)
    if all(a[1] <= b[0] for a, b in zip(ordered, ordered[1:], strict=False)):
        return spans
    merged = [ordered[0]]
    for start, end in ordered[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names C{etag} (weak comparison) or is ``*``."""
    if header is None:
        return False
    bare = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == bare:
            return True
    return False
