"""
What a web page says about itself: OpenGraph image, title and description.

Read with libxml2's HTML parser (lxml, events only, no tree kept), which
copes with broken markup in linear time, over at most the bytes the
resolver read. (The standard library's ``html.parser`` is not used: on the
CPython this runs on it takes quadratic time over an unclosed comment, 8 s
for 50 KB, which a page could use to stall the server.) Values are trimmed, and image URLs made
absolute against the page's URL and kept only when they are http(s).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from lxml import etree

_TEXT_LIMIT = 300
_URL_LIMIT = 2048
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)

# Where a page names its picture, best first; icons are the last resort.
_IMAGE_KEYS = (
    "og:image",
    "og:image:url",
    "og:image:secure_url",
    "twitter:image",
    "twitter:image:src",
)
_ICON_RELS = ("image_src", "apple-touch-icon", "icon", "shortcut icon")


@dataclass(frozen=True)
class PageInfo:
    title: str | None
    description: str | None
    image: str | None
    """The page's own picture (OpenGraph, Twitter card), absolute."""
    icon: str | None
    """An icon or image_src link, absolute, when the page names no picture."""


class _HeadTarget:
    """Collects meta, link and title from the parser's events."""

    def __init__(self) -> None:
        self.meta: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.title: list[str] = []
        self._in_title = False
        self._seen_title = False

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        values = {str(k).lower(): str(v or "") for k, v in attrib.items()}
        if tag == "meta":
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key and "content" in values:
                self.meta.setdefault(key, values["content"])
        elif tag == "link":
            rel = " ".join(values.get("rel", "").lower().split())
            if rel and values.get("href"):
                self.links.setdefault(rel, values["href"])
        elif tag == "title" and not self._seen_title:
            self._in_title = self._seen_title = True

    def end(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def data(self, text: str) -> None:
        if self._in_title and sum(map(len, self.title)) < _TEXT_LIMIT * 4:
            self.title.append(text)

    def comment(self, text: str) -> None:
        pass

    def close(self) -> _HeadTarget:
        return self


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    words = " ".join(value.split())
    if not words:
        return None
    return words if len(words) <= _TEXT_LIMIT else words[: _TEXT_LIMIT - 1] + "…"


def _absolute(base: str, value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    url = urljoin(base, value.strip())
    if urlsplit(url).scheme not in ("http", "https") or len(url) > _URL_LIMIT:
        return None
    return url


def _decode(body: bytes, charset: str | None) -> str:
    names = [charset] if charset else []
    found = _META_CHARSET.search(body[:4096])
    if found:
        names.append(found.group(1).decode("ascii"))
    for name in names:
        try:
            codecs.lookup(name)
        except LookupError:
            continue
        return body.decode(name, errors="replace")
    return body.decode("utf-8", errors="replace")


def parse_page(body: bytes, charset: str | None, url: str) -> PageInfo:
    """The page's picture, title and description; C{url} is where it was fetched."""
    parser = _HeadTarget()
    html = etree.HTMLParser(target=parser, recover=True, no_network=True, huge_tree=False)
    text = _decode(body, charset)
    if text.strip():
        html.feed(text)
    try:
        html.close()
    except etree.Error:
        pass  # an empty or hopeless document: whatever was collected stands
    meta = parser.meta
    images = (_absolute(url, meta.get(key)) for key in _IMAGE_KEYS)
    icons = (_absolute(url, parser.links.get(rel)) for rel in _ICON_RELS)
    image = next((u for u in images if u), None)
    icon = next((u for u in icons if u), None)
    title = _text(meta.get("og:title")) or _text("".join(parser.title))
    description = _text(meta.get("og:description")) or _text(meta.get("description"))
    return PageInfo(title, description, image, icon)
