"""The built web client as hubsd serves it: the page, the hashed assets, their cache headers."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from twisted.web.test.requesthelper import DummyRequest

from hubsd.web.clientfiles import client_page, mount_client, room_page_for

REPO = Path(__file__).resolve().parent.parent.parent
CLIENT = REPO / "hubsd" / "web" / "client"
WEB = REPO / "web"


def get(path: str, method: bytes = b"GET", headers: dict[str, str] | None = None) -> DummyRequest:
    """Render C{path} through the tree mount_client builds; the finished request."""
    root = Resource()
    mount_client(root, "hubsd")
    parts = path.lstrip("/").split("/")
    request = DummyRequest([p.encode() for p in parts])
    request.method = method
    for name, value in (headers or {}).items():
        request.requestHeaders.setRawHeaders(name, [value])
    resource: Resource = root
    while request.postpath and not resource.isLeaf:
        resource = resource.getChildWithDefault(request.postpath.pop(0), request)  # type: ignore[assignment]
        request.prepath.append(b"")
    body = resource.render(request)
    if body is not NOT_DONE_YET:
        request.write(body)
        request.finish()
    return request


def header(request: DummyRequest, name: str) -> str | None:
    values = request.responseHeaders.getRawHeaders(name.encode())
    return values[0].decode() if values else None


def assets() -> list[str]:
    return sorted(p.name for p in (CLIENT / "assets").iterdir())


def test_the_page_names_hashed_assets_that_exist() -> None:
    page = client_page().decode()
    named = re.findall(r'(?:src|href)="/assets/([^"]+)"', page)
    assert len(named) == 2
    for name in named:
        assert re.fullmatch(r"(main|style)-[A-Z0-9]{8}\.(js|css)", name), name
        assert name in assets()
    # No address outside the server that served the page.
    assert "http:" not in page and "https:" not in page and "//" not in page.replace("<!--", "")


def test_root_serves_the_page_and_says_revalidate() -> None:
    request = get("/")
    assert request.responseCode in (None, 200)
    assert b"".join(request.written) == client_page()
    assert header(request, "cache-control") == "no-cache"
    assert header(request, "content-type") == "text/html; charset=utf-8"


def test_a_room_page_is_the_client_page() -> None:
    page = room_page_for("hubsd")({"hub_sid": "abc1234", "name": "A room"})
    assert page == client_page("hubsd")


def test_the_page_names_the_room_realm_escaped() -> None:
    assert b'<meta name="hubsd-realm" content="hubsd">' in client_page()
    assert b'<meta name="hubsd-realm" content="a&quot;&lt;b">' in client_page('a"<b')


def test_head_of_the_page_has_its_length_and_no_body() -> None:
    request = get("/", method=b"HEAD")
    assert b"".join(request.written) == b""
    assert header(request, "content-length") == str(len(client_page()))


def test_a_hashed_asset_is_immutable_for_a_year() -> None:
    name = next(n for n in assets() if n.endswith(".js"))
    request = get(f"/assets/{name}")
    assert b"".join(request.written) == (CLIENT / "assets" / name).read_bytes()
    assert header(request, "cache-control") == "public, max-age=31536000, immutable"
    assert header(request, "content-type") == "text/javascript; charset=utf-8"
    assert header(request, "vary") == "accept-encoding"
    assert header(request, "content-encoding") is None


def test_an_asset_is_gzipped_for_a_browser_that_accepts_it() -> None:
    name = next(n for n in assets() if n.endswith(".js"))
    request = get(f"/assets/{name}", headers={"accept-encoding": "br, gzip, deflate"})
    assert header(request, "content-encoding") == "gzip"
    body = b"".join(request.written)
    assert gzip.decompress(body) == (CLIENT / "assets" / name).read_bytes()
    assert header(request, "content-length") == str(len(body))
    refused = get(f"/assets/{name}", headers={"accept-encoding": "gzip;q=0"})
    assert header(refused, "content-encoding") is None


@pytest.mark.parametrize(
    "path", ["/assets/nope.js", "/assets/", "/assets/../index.html", "/assets/.hidden.js"]
)
def test_unknown_or_crafted_asset_names_are_404_json(path: str) -> None:
    request = get(path)
    assert request.responseCode == 404
    assert b'"code":"not_found"' in b"".join(request.written)


def test_the_initial_bundle_is_under_two_megabytes_gzipped() -> None:
    total = sum(
        len(gzip.compress((CLIENT / "assets" / n).read_bytes(), 9))
        for n in assets()
        if n.endswith((".js", ".css"))
    )
    assert total < 2 * 1024 * 1024


def test_the_committed_bundle_is_what_the_lock_file_builds(tmp_path: Path) -> None:
    """web/package-lock.json + web/src rebuild hubsd/web/client byte for byte."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: building the web client needs Node.js >= 20")
    if not (WEB / "node_modules" / "esbuild").is_dir():
        pytest.fail("web/node_modules is missing: run `npm ci --prefix web` first")
    out = tmp_path / "client"
    subprocess.run(
        [node, str(WEB / "build.mjs"), "--outdir", str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    built = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    shipped = sorted(p.relative_to(CLIENT).as_posix() for p in CLIENT.rglob("*") if p.is_file())
    assert built == shipped, "rebuild with `npm run build --prefix web` and commit hubsd/web/client"
    for name in built:
        assert (out / name).read_bytes() == (CLIENT / name).read_bytes(), name
