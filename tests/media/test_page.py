"""What a page says about itself, read from its (possibly broken) HTML."""

from __future__ import annotations

from hubsd.media.page import parse_page

BASE = "https://site.example/a/page.html"


def test_opengraph_tags_win_and_relative_urls_become_absolute() -> None:
    page = parse_page(
        b"""<html><head><title>Plain</title>
        <meta name="description" content="plain words">
        <meta property="OG:Title" content="Open  graph">
        <meta property="og:description" content="og words">
        <meta property="og:image" content="../img/p.jpg">
        <link rel="icon" href="/favicon.ico"></head></html>""",
        None,
        BASE,
    )
    assert page.title == "Open graph"
    assert page.description == "og words"
    assert page.image == "https://site.example/img/p.jpg"
    assert page.icon == "https://site.example/favicon.ico"


def test_without_opengraph_the_title_description_and_twitter_card_are_used() -> None:
    page = parse_page(
        b"""<title> Plain
        title </title><meta name=description content="plain words">
        <meta name="twitter:image" content="//cdn.example/t.png">""",
        None,
        BASE,
    )
    assert (page.title, page.description) == ("Plain title", "plain words")
    assert page.image == "https://cdn.example/t.png"
    assert page.icon is None


def test_a_picture_that_is_not_http_is_skipped_for_the_next() -> None:
    page = parse_page(
        b"""<meta property="og:image" content="javascript:alert(1)">
        <meta property="og:image:url" content="data:image/png;base64,AAAA">
        <meta property="og:image:secure_url" content="https://ok.example/p.png">""",
        None,
        BASE,
    )
    assert page.image == "https://ok.example/p.png"


def test_broken_markup_and_an_unclosed_comment_still_give_what_came_before() -> None:
    # html.parser takes quadratic time over this; libxml2 does not.
    body = b'<head><meta property="og:title" content="Before"><p><b><i></p><!--' + b"a<" * 260_000
    page = parse_page(body, None, BASE)
    assert page.title == "Before"


def test_the_charset_comes_from_the_header_or_the_meta_tag() -> None:
    latin = "<title>Café</title>".encode("cp1252")
    assert parse_page(latin, "windows-1252", BASE).title == "Café"
    assert parse_page(b'<meta charset="windows-1252">' + latin, None, BASE).title == "Café"
    assert parse_page("<title>Café</title>".encode(), "no-such-charset", BASE).title == "Café"


def test_long_texts_are_cut_and_empty_pages_give_nothing() -> None:
    page = parse_page(b"<title>" + b"word " * 200 + b"</title>", None, BASE)
    assert page.title is not None and len(page.title) == 300 and page.title.endswith("…")
    for body in (b"", b"   ", b"\0\0\0", b"<<<>>>", b"<!doctype html>"):
        empty = parse_page(body, None, BASE)
        assert (empty.title, empty.description, empty.image, empty.icon) == (None,) * 4
