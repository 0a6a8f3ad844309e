"""
The web client in real Chromium against the real daemon.

Each test runs one Node scenario (tests/interop/web_*.js) that drives
Debian's /usr/bin/chromium through playwright-core (headless, fake media
devices, no background networking) with one browser context per person, and
compares what the people saw with what the room promises. The page may fetch
nothing but the server under test (each scenario reports any other request).

Figures (join click to the other's avatar, frame rate, bundle size) are
printed and written to ``web-client-figures.json`` with the screenshot, in
``$HUBSD_WEB_OUT`` if set (``HUBSD_WEB_OUT=docs`` refreshes the committed
picture), else in the test's temporary directory. They are not asserted.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.interop.harness import BASE_CONFIG, REPO, node_with, run_scenario, running_hubsd

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("HUBSD_CHROMIUM", "/usr/bin/chromium")


#: The daemon's config for the web client: its public origin is its own
#: address, as a deployment's is (the Phoenix gateway admits browser pages of
#: that origin only, and the API's room URLs use it).
WEB_CONFIG = BASE_CONFIG.replace(
    "[hubsd]\n", "[hubsd]\npublic_origin = http://127.0.0.1:{port}\n", 1
)
assert WEB_CONFIG != BASE_CONFIG


def _node() -> str:
    node = node_with("playwright-core", "the web client tests")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (Debian's package)")
    return node


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A hubsd daemon serving the built client; its http://127.0.0.1:PORT."""
    _node()
    with running_hubsd(tmp_path_factory.mktemp("web"), WEB_CONFIG) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    chosen = os.environ.get("HUBSD_WEB_OUT")
    path = Path(chosen) if chosen else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


def scenario(name: str, base: str, out: Path, timeout: float = 300) -> dict[str, Any]:
    """Run tests/interop/NAME.js against C{base}; the JSON object it printed."""
    result = run_scenario(_node(), name, [base, str(out)], timeout=timeout)
    assert result.pop("problems") == []
    return result


def bundle_gzip_bytes() -> int:
    assets = REPO / "hubsd" / "web" / "client" / "assets"
    return sum(
        len(gzip.compress(p.read_bytes(), 9))
        for p in assets.iterdir()
        if p.suffix in (".js", ".css")
    )


def test_two_members_see_each_other_move_and_chat_both_ways(base_url: str, out_dir: Path) -> None:
    r = scenario("web_two_members", base_url, out_dir)
    # Each sees the other's avatar, with the other's name on its tag.
    assert r["bobSeesAlice"]["name"] == "Alice"
    assert r["aliceSeesBob"]["name"] == "Bob"
    # Alice walked forward (-z) a metre or more; Bob saw her go.
    moved = r["aliceMoved"]
    assert moved["after"]["z"] < moved["before"]["z"] - 0.3
    assert r["aliceWalk"]["end"]["z"] < r["aliceWalk"]["start"]["z"] - 0.9
    # Bob strafed left (-x); Alice saw it.
    assert r["bobMoved"]["after"]["x"] < r["bobMoved"]["before"]["x"] - 0.3
    assert r["aliceChat"] == r["bobChat"] == ["Alice hello Bob", "Bob hi Alice"]
    assert r["alicePeople"] == ["Alice (you)", "Bob"]
    assert r["bobPeople"] == ["Alice", "Bob (you)"]
    assert r["carolPeople"] == ["Alice", "Bob", "Carol (you)"]
    shot = Path(r["screenshot"])
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    figures = {
        "join_click_to_other_avatar_ms": r["joinToAvatarMs"],
        "frames_per_second_headless": round(r["fps"], 1),
        "bundle_gzip_bytes": bundle_gzip_bytes(),
    }
    (out_dir / "web-client-figures.json").write_text(json.dumps(figures, indent=1) + "\n")
    print("web client figures:", figures)


def test_refused_spawn_moderation_buttons_and_a_kick(base_url: str, out_dir: Path) -> None:
    r = scenario("web_moderation", base_url, out_dir)
    assert r["bobRefusal"] == (
        "You are not allowed to place objects in this room "
        "(it needs the spawn_and_move_media permission)."
    )
    # The refused box is gone from Bob's page; the owner's box reaches him.
    assert r["bobBoxesAfterRefusal"] == []
    assert len(r["bobSeesBoxesOf"]) == 1
    assert r["bobSeesBoxesOf"] == r["aliceBoxesSeenByAlice"]
    assert r["aliceErrors"] == []
    # Buttons follow the rights the server gave.
    assert r["aliceButtonsForBob"] == ["Mute", "Kick", "Block"]
    assert r["bobButtonsForAlice"] == ["Block"]
    assert (r["aliceCanClose"], r["bobCanClose"]) == (True, False)
    # Kicked: Bob is told who removed him, and he is gone from Alice's room.
    assert r["bobOverlay"] == "You were removed from the room by Alice."
    assert r["alicePeopleAfterKick"] == ["Alice (you)"]
    assert r["aliceSeesBobAfterKick"] is None
    # Coming back in the same tab is coming back as the kicked member.
    assert r["bobRejoin"].startswith("You may not enter this room.")


def test_refusals_and_a_dropped_connection_are_shown_in_words(base_url: str, out_dir: Path) -> None:
    r = scenario("web_errors", base_url, out_dir)
    assert r["full"] == "The room is full. Room full: all 1 seats are taken."
    assert r["inviteOnly"].startswith("You may not enter this room.")
    assert r["inviteButton"] is True
    assert r["closedForOwner"] == "The room was closed."
    assert r["closed"].startswith("This room is closed.")
    assert r["unreachable"] == "The server cannot be reached."
    assert r["reconnecting"].startswith("The connection to the server was lost. Reconnecting in")
    assert r["reconnected"] == "Reconnected."
    # Back as the same member, over a second websocket; the room goes on.
    assert r["socketsOpened"] == 2
    assert r["daveIdAfter"] == r["daveId"]
    assert r["aliceChat"] == ["Dave back again"]
    assert r["alicePeople"] == ["Alice (you)", "Dave"]
    # Leaving the page and coming back from the lobby in the same tab keeps the seat.
    assert r["daveIdAfterReturn"] == r["daveId"]
    assert r["alicePeopleAfterReturn"] == ["Alice (you)", "Dave"]


ERRORS_JS = REPO / "web" / "src" / "transport" / "errors.js"


def test_every_documented_room_error_has_words() -> None:
    """Each room API error URI (docs/wamp-api.md, Errors) has its own sentence in the client."""
    text = (REPO / "docs" / "wamp-api.md").read_text()
    start = text.index("\n## Errors\n")
    end = text.find("\n## ", start + 1)
    errors = text[start : end if end > 0 else len(text)]
    uris = sorted({line.split("`")[1] for line in errors.splitlines() if line.startswith("| `")})
    assert "hubsd.error.room_full" in uris and len(uris) >= 12
    probe = (
        f"import {{ describe }} from {json.dumps(ERRORS_JS.as_uri())};\n"
        f"const uris = {json.dumps(uris)};\n"
        "console.log(JSON.stringify(Object.fromEntries(uris.map((u) => [u, describe(u, '')]))));\n"
    )
    done = subprocess.run(
        [_node(), "--input-type=module", "-e", probe], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    words = json.loads(done.stdout)
    fallback = {u for u, w in words.items() if u in w}
    assert fallback == set(), f"no words for {sorted(fallback)} in web/src/transport/errors.js"
    assert len(set(words.values())) == len(uris)


def test_an_invite_link_lets_a_friend_into_an_invite_only_room(
    base_url: str, out_dir: Path
) -> None:
    r = scenario("web_invite", base_url, out_dir)
    assert r["link"].startswith(f"{base_url}/")
    assert "?invite=" in r["link"]
    assert r["withoutInvite"].startswith("You may not enter this room.")
    assert r["doorTitle"] == "Enter Friends only"
    assert r["bobPeople"] == ["Alice", "Bob (you)"]


@pytest.fixture(scope="module")
def short_grace_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A daemon that keeps a dropped member's seat for 2 s only."""
    yield from _daemon_with(tmp_path_factory, "web-grace", "[rooms]\nreconnect_grace = 2s\n")


def _daemon_with(
    tmp_path_factory: pytest.TempPathFactory, name: str, extra_config: str
) -> Iterator[str]:
    """A hubsd daemon with C{extra_config} after the base one; its base URL."""
    _node()
    with running_hubsd(tmp_path_factory.mktemp(name), WEB_CONFIG + extra_config) as port:
        yield f"http://127.0.0.1:{port}"


def test_a_drop_longer_than_the_grace_comes_back_as_a_new_seat_with_its_avatar(
    short_grace_url: str, out_dir: Path
) -> None:
    r = scenario("web_lost_seat", short_grace_url, out_dir)
    # The server let the seat go: Alice saw Dave leave, avatar and all.
    assert r["alicePeopleWhileDown"] == ["Alice (you)"]
    assert "Reconnecting in" in r["daveStatusWhileDown"]
    # Back, as the same identity in a new seat, his avatar announced again.
    assert r["daveIdAgain"] == r["daveId"]
    assert r["aliceSeesDave"]["name"] == "Dave"
    assert r["alicePeopleAfter"] == ["Alice (you)", "Dave"]


def test_two_members_hear_each_other_through_the_sfu_and_mute(
    base_url: str, out_dir: Path
) -> None:
    r = scenario("web_voice", base_url, out_dir)
    for heard in (r["aliceHears"], r["bobHears"]):
        assert len(heard) == 1
        assert heard[0]["bytesReceived"] > 0 and heard[0]["audioLevel"] > 0
    assert r["aliceSeesBobSpeaking"] and r["bobSeesAliceSpeaking"]
    assert (r["muteButton"], r["muteButtonAfter"]) == ("Mute", "Unmute")
    assert r["bobHearsAliceMuted"] is True
    # Bob gone: Alice keeps her publisher only.
    assert r["alicePeersAfterBobLeft"] == 1


def test_a_browser_without_a_microphone_listens_and_says_why(
    base_url: str, out_dir: Path
) -> None:
    r = scenario("web_voice_nomic", base_url, out_dir)
    assert r["bobVoiceState"].startswith("No microphone (NotFoundError): you can listen")
    assert r["bobMuteHidden"] is True
    assert r["bobHearsAlice"] is True


@pytest.fixture(scope="module")
def no_sfu_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A daemon with C{[sfu] backend = none}."""
    yield from _daemon_with(tmp_path_factory, "web-nosfu", "[sfu]\nbackend = none\n")


def test_a_server_without_an_sfu_says_there_is_no_voice(no_sfu_url: str, out_dir: Path) -> None:
    r = scenario("web_voice_none", no_sfu_url, out_dir)
    assert r["voiceState"] == "Voice is not available on this server."
    assert r["muteHidden"] is True
    assert r["peers"] == 0


@pytest.fixture(scope="module")
def phoenix_pages_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A daemon whose Phoenix socket takes pages of any origin (the test's pages)."""
    yield from _daemon_with(tmp_path_factory, "web-phx", "[phoenix]\nallowed_origins = *\n")


def test_a_hubs_style_client_has_voice_over_the_phoenix_hub_channel(
    phoenix_pages_url: str, out_dir: Path
) -> None:
    r = scenario("web_phx_voice", phoenix_pages_url, out_dir)
    for heard in (r["aliceHears"], r["bobHears"]):
        assert len(heard) == 1
        assert heard[0]["bytesReceived"] > 0 and heard[0]["audioLevel"] > 0
    # Each learnt of the other from its channel's pushes, and its handles came up.
    pushes = {name: [ev for ev, _ in r[name]["pushes"]] for name in ("alice", "bob")}
    assert "sfu:connected" in pushes["alice"] and "sfu:connected" in pushes["bob"]
    assert not [ev for ev in pushes["alice"] + pushes["bob"] if "refused" in ev]
    # Chromium trickled its candidates; every one, and the end, was taken.
    for name in ("alice", "bob"):
        assert r[name]["trickles"] and set(r[name]["trickles"]) == {"ok"}, r[name]["trickles"]
    assert r["getHost"]["status"] == "error"
    assert r["getHost"]["response"]["reason"] == "not_supported"
    # Bob left the hub channel: Alice was told his media went, and why.
    unpublished = [p for ev, p in r["alice"]["pushes"] if ev == "sfu:unpublished"]
    assert unpublished == [{"session_id": r["bobId"], "reason": "left"}]


def _heard_from(entries: list[dict[str, Any]], sender: str) -> dict[str, Any]:
    """The inbound audio entry from C{sender}, asserting bytes and a level above 0."""
    heard = [s for s in entries if s["from"] == sender]
    assert len(heard) == 1, entries
    assert heard[0]["bytesReceived"] > 0 and heard[0]["audioLevel"] > 0, heard
    return heard[0]


def test_pages_on_the_two_transports_share_a_room_and_hear_each_other(
    base_url: str, out_dir: Path
) -> None:
    r = scenario("web_two_transports", base_url, out_dir)
    # Each page spoke its own transport only.
    assert r["aliceSockets"] == ["/ws"]
    assert r["bobSockets"] == ["/socket/websocket"]
    assert r["bobUrl"].endswith("?transport=phoenix")
    assert r["unknownTransport"].startswith("Unknown transport in the address: use ?transport=wamp")
    # They see each other, and each other's moves.
    assert r["bobSeesAlice"]["name"] == "Alice"
    assert r["aliceSeesBob"]["name"] == "Bob"
    assert r["aliceMoved"]["after"]["z"] < r["aliceMoved"]["before"]["z"] - 0.3
    assert r["bobMoved"]["after"]["x"] < r["bobMoved"]["before"]["x"] - 0.3
    assert r["aliceChat"][:2] == r["bobChat"][:2] == ["Alice hello Bob", "Bob hi Alice"]
    assert r["bobChatInputAfterSend"] == ""
    assert r["alicePeople"] == ["Alice (you)", "Bob"]
    assert r["bobPeople"] == ["Alice", "Bob (you)"]
    # They hear each other through the SFU, whatever the transport; Bob's
    # page holds two peer connections: his microphone's and Alice's.
    alice_hears_bob = _heard_from(r["aliceHearsBob"], r["bobId"])
    _heard_from(r["bobHearsAlice"], r["aliceId"])
    assert (r["bobVoiceState"], r["bobMuteButton"], r["bobPeers"]) == ("", "Mute", 2)
    # Alice's mute of Bob holds at the SFU until his own Unmute over Phoenix.
    assert r["bobMutedNotice"] == "Alice muted your microphone."
    assert (r["bobButtonMuted"], r["bobButtonAfter"]) == ("Unmute", "Mute")
    muted = [s for s in r["aliceHearsBobMuted"] if s["from"] == r["bobId"]]
    assert muted and muted[0]["audioLevel"] == 0
    _heard_from(r["aliceHearsBobAgain"], r["bobId"])
    assert r["bobErrorsAfterUnmute"] == []
    # A dropped Phoenix socket: back as the same member over a second
    # socket, heard and hearing again on new SFU handles.
    assert r["bobReconnected"] == "Reconnected."
    assert (r["bobIdAfter"], r["bobLinks"]) == (r["bobId"], 2)
    assert r["alicePeopleAfterDrop"] == ["Alice (you)", "Bob"]
    after_drop = _heard_from(r["aliceHearsBobAfterDrop"], r["bobId"])
    assert after_drop["handle"] != alice_hears_bob["handle"]
    _heard_from(r["bobHearsAliceAfterDrop"], r["aliceId"])
    assert r["bobPeersAfterDrop"] == 2
    # Rights as buttons, then the kick, named, and the refusal at the door.
    assert r["aliceButtonsForBob"] == ["Mute", "Kick", "Block"]
    assert r["bobButtonsForAlice"] == ["Block"]
    assert r["bobOverlay"] == "You were removed from the room by Alice."
    assert r["alicePeopleAfterKick"] == ["Alice (you)"]
    assert r["bobRejoin"].startswith("You may not enter this room.")


def test_a_moderators_mute_silences_a_member_until_they_unmute(
    base_url: str, out_dir: Path
) -> None:
    r = scenario("web_voice_moderated", base_url, out_dir)
    assert r["aliceHearsBob"][0]["audioLevel"] > 0
    # Muted by Alice: told who did it, the button offers Unmute, Alice hears nothing.
    assert r["bobNotice"] == "Alice muted your microphone."
    assert (r["bobButtonBefore"], r["bobButtonMuted"]) == ("Mute", "Unmute")
    muted = [s for s in r["aliceHearsBobMuted"] if s["from"] == r["bobId"]]
    assert muted and muted[0]["audioLevel"] == 0
    assert any(s["audioLevel"] > 0 for s in r["bobStillHearsAlice"])
    # Unmuted by himself (the server agreed): heard again.
    assert r["bobButtonAfter"] == "Mute"
    assert r["bobErrors"] == []
    again = [s for s in r["aliceHearsBobAgain"] if s["from"] == r["bobId"]]
    assert again and again[0]["audioLevel"] > 0 and again[0]["bytesReceived"] > 0


def test_voice_comes_back_after_a_reconnect(base_url: str, out_dir: Path) -> None:
    r = scenario("web_voice_reconnect", base_url, out_dir)
    assert r["bobStatus"] == "Reconnected."
    assert (r["bobIdAfter"], r["links"]) == (r["bobId"], 2)
    # New SFU handles on both sides (the old ones ended with the old
    # connection), and sound on them.
    assert r["aliceHandlesAfter"] and not set(r["aliceHandlesAfter"]) & set(r["aliceHandlesBefore"])
    assert r["bobHandlesAfter"] and not set(r["bobHandlesAfter"]) & set(r["bobHandlesBefore"])
    # One publisher and one subscription each: nothing left over from before.
    assert (r["alicePeers"], r["bobPeers"]) == (2, 2)
    assert r["bobVoiceState"] == ""


@pytest.fixture(scope="module")
def media_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A daemon that may fetch links from loopback and takes uploads of 50 KiB at most."""
    yield from _daemon_with(
        tmp_path_factory,
        "web-media",
        "[media]\nallow_networks = 127.0.0.1/32\n[files]\nmax_upload_size = 50KiB\n",
    )


def test_images_dropped_moved_pinned_and_pasted_links_reach_every_member(
    media_url: str, out_dir: Path
) -> None:
    r = scenario("web_media", media_url, out_dir, timeout=540)
    assert r["bobPinRefused"] == (
        "Only the person who shared this image can pin it: the server keeps an upload"
        " for good only at their request."
    )
    assert r["bobPinButtonAfter"] == "Pin"
    dropped = r["ids"]["dropped"]
    # Bob's page loaded Alice's upload from the server: the PNG's own size,
    # on a plane with its aspect ratio (320 x 200: 1 m by 0.625 m).
    assert r["aliceDropped"]["natural"] == [320, 200]
    assert r["bobSees"]["id"] == dropped and r["bobSees"]["natural"] == [320, 200]
    assert r["bobSees"]["plane"] == [1, 0.625]
    assert r["bobSees"]["src"].split("?")[0].endswith(".png") and "?token=" in r["bobSees"]["src"]
    assert r["bobSees"]["owner"] == r["ids"]["aliceId"]
    # A member without spawn_and_move_media: refused in words, both ways.
    assert r["carolShareRefusal"] == (
        "You are not allowed to place objects in this room "
        "(it needs the spawn_and_move_media permission)."
    )
    assert r["carolMoveRefusal"] == (
        "You are not allowed to move objects in this room "
        "(it needs the spawn_and_move_media permission)."
    )
    assert r["carolSeesOwnerAfterRefusal"] == r["ids"]["aliceId"]
    assert r["carolGrabLabel"] == "Grab"
    # With the permission Bob took it (the server let the take through) and
    # carried it about a metre to his right; Alice saw it arrive, his.
    assert r["patchStatus"] == 200
    assert r["bobWalk"]["end"]["x"] > r["bobWalk"]["start"]["x"] + 0.9
    assert r["bobMoved"]["owner"] == r["ids"]["bobId"]
    assert r["bobMoved"]["at"]["x"] > r["bobSees"]["at"]["x"] + 0.5
    assert r["aliceSeesMoved"]["owner"] == r["ids"]["bobId"]
    # Pinned: there after Bob's reload (where he put it) and for Dave, who
    # came to the room after everyone had left it.
    assert r["bobIdAfterReload"] == r["ids"]["bobId"]
    assert r["bobAfterReload"]["natural"] == [320, 200]
    assert abs(r["bobAfterReload"]["at"]["x"] - r["bobMoved"]["at"]["x"]) < 0.05
    assert r["daveSees"]["natural"] == [320, 200] and r["davePinned"] is True
    assert abs(r["daveSees"]["at"]["z"] - r["bobMoved"]["at"]["z"]) < 0.05
    # Links: the page's picture (160 x 120, the server's thumbnail of it)
    # reaches Dave; a pasted image link shows too.
    assert r["aliceLink"]["link"].endswith("/page.html")
    assert r["aliceLink"]["src"].startswith("/thumbnails/")
    assert r["daveSeesLink"]["natural"] == [160, 120]
    assert r["alicePasted"]["link"].endswith("/pic.png")
    assert r["alicePasted"]["natural"] == [160, 120]
    assert r["bareLink"].endswith("/bare.html is a web page with no picture or title to show.")
    assert r["missingLink"].startswith("The link's server answered with an error.")
    assert "404" in r["missingLink"]
    # Refused uploads, in words.
    assert r["bigBytes"] > 51200
    assert r["tooLarge"] == (
        "That file is too large for this server. The file is larger than 51200 bytes."
    )
    assert r["notAnImage"].startswith("That kind of file cannot be shared here")
    # Unpinned: gone from every page.
    assert dropped not in r["daveMediaAfterUnpin"]
    assert r["ids"]["linked"] in r["daveMediaAfterUnpin"]
