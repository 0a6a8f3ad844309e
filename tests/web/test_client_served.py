"""The daemon serves the web client, for its room realm, unless [web] client is off."""

from __future__ import annotations

import urllib.error
import urllib.request


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_the_daemon_serves_the_client_naming_its_room_realm(daemon_factory) -> None:
    daemon = daemon_factory("[wamp]\nrealms = lobby, other\n").start().wait_ready()
    status, page = fetch(daemon.url + "/")
    assert status == 200
    assert b'<meta name="hubsd-realm" content="lobby">' in page
    daemon.stop()


def test_client_false_leaves_root_and_assets_unanswered(daemon_factory) -> None:
    daemon = daemon_factory("[web]\nclient = false\n").start().wait_ready()
    assert fetch(daemon.url + "/")[0] == 404
    assert fetch(daemon.url + "/assets/x.js")[0] == 404
    assert fetch(daemon.url + "/health")[0] == 200
    daemon.stop()
