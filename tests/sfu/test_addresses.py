"""
Where media goes: candidates only on the configured addresses, sockets
from the configured port range, the announced public address in SDP, and
config errors for values that cannot work.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted

from hubsd.config import ConfigError, load_config
from tests.sfu import peers
from tests.sfu.conftest import own_daemon
from tests.sfu.harness import media_room, poll


def candidates(sdp: str) -> list[tuple[str, int]]:
    found = re.findall(r"a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ host", sdp, re.I)
    return [(host, int(port)) for host, port in found]


@pytest_twisted.ensureDeferred
async def test_media_sockets_use_the_port_range_and_the_bound_address(
    tmp_path: Path, loop: Any
) -> None:
    low = random.randrange(30000, 39000)
    async with own_daemon(tmp_path, sfu=f"udp_ports = {low}-{low + 40}") as daemon:
        sid, (a, b) = await media_room(daemon, loop, 2)
        peer, offer = await loop.run(peers.publisher_offer())
        reply = await a.sfu("publish", hub_sid=sid, sdp=offer)
        found = candidates(reply["sdp"])
        assert found and all(host == "127.0.0.1" for host, _ in found)
        assert all(low <= port <= low + 40 for _, port in found)
        await loop.run(peers.accept_answer(peer, reply["sdp"]))
        a.publisher, a.publisher_handle = peer, reply["handle_id"]
        await b.subscribe(a)
        await poll(lambda: b.heard(a) > 5, seconds=20)
        await a.close_peers()
        await b.close_peers()


@pytest_twisted.ensureDeferred
async def test_the_announced_address_replaces_the_bound_one_in_sdp(
    tmp_path: Path, loop: Any
) -> None:
    # 203.0.113.0/24 is documentation space: only written into SDP here, the
    # client never applies the answer, so nothing is sent there.
    async with own_daemon(tmp_path, sfu="announced_address = 203.0.113.7") as daemon:
        sid, (a,) = await media_room(daemon, loop, 1)
        peer, offer = await loop.run(peers.publisher_offer())
        reply = await a.sfu("publish", hub_sid=sid, sdp=offer)
        found = candidates(reply["sdp"])
        assert found and all(host == "203.0.113.7" for host, _ in found)
        assert "127.0.0.1" not in reply["sdp"]
        await loop.run(peers.close(peer))


@pytest.mark.parametrize(
    ("line", "key", "words"),
    [
        ("bind_addresses = 0.0.0.0", "bind_addresses", "name the interfaces"),
        ("bind_addresses = eth0", "bind_addresses", "is not an IP address"),
        ("bind_addresses =", "bind_addresses", "at least one IP address"),
        ("udp_ports = 5000-4000", "udp_ports", "low end first"),
        ("udp_ports = 80-90", "udp_ports", "1024-65535"),
        ("udp_ports = lots", "udp_ports", "port range"),
        ("announced_address = 1.2.3.4 5.6.7.8", "announced_address", "one IP address"),
        ("workers = 0", "workers", ""),
        ("max_publishers = 0", "max_publishers", ""),
    ],
)
def test_bad_values_are_config_errors_naming_the_key(
    tmp_path: Path, line: str, key: str, words: str
) -> None:
    ini = tmp_path / "hubsd.ini"
    ini.write_text(f"[sfu]\nbackend = aiortc\n{line}\n")
    with pytest.raises(ConfigError) as e:
        load_config(str(ini))
    (problem,) = e.value.problems
    assert (problem.section, problem.key) == ("sfu", key)
    assert words in str(problem) and str(ini) in str(problem)
