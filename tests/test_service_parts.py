"""The service's parts: each backend is checked against its interface when it starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from zope.interface.verify import verifyObject

from hubsd import service as service_module
from hubsd.backends import BuildContext
from hubsd.config import load_config
from hubsd.interfaces import ISFU, IBackend, IClusterBus, IFileStore, IRoomStore
from hubsd.service import HubsdService, StartupError

PARTS = [
    ("storage", IRoomStore, "_start_storage", "store"),
    ("files", IFileStore, "_start_files", "files"),
    ("cluster", IClusterBus, "_start_cluster", "cluster"),
    ("sfu", ISFU, "_start_sfu", "sfu"),
]


def _service(tmp_path: Path) -> tuple[HubsdService, BuildContext]:
    ini = tmp_path / "hubsd.ini"
    ini.write_text(
        f"[hubsd]\nstate_dir = {tmp_path}\n[storage]\nbackend = memory\n[files]\nbackend = memory\n"
    )
    config = load_config(str(ini))
    return HubsdService(config, reactor), BuildContext(reactor, str(tmp_path), config)


@pytest.mark.parametrize(("kind", "interface", "start", "attr"), PARTS)
@pytest_twisted.ensureDeferred
async def test_each_part_is_its_interface_once_started(
    tmp_path: Path, kind: str, interface: Any, start: str, attr: str
) -> None:
    service, context = _service(tmp_path)
    assert not hasattr(service, attr)
    stop = await getattr(service, start)(context)
    part = getattr(service, attr)
    assert verifyObject(interface, part)
    assert interface.extends(IBackend)
    await stop()


@pytest.mark.parametrize(("kind", "interface", "start", "attr"), PARTS)
@pytest_twisted.ensureDeferred
async def test_a_backend_without_its_interface_is_refused_before_it_starts(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    interface: Any,
    start: str,
    attr: str,
) -> None:
    started: list[str] = []

    class Impostor:
        def start(self) -> None:
            started.append(kind)

    monkeypatch.setattr(service_module, "build_backend", lambda config, k, context: Impostor())
    service, context = _service(tmp_path)
    with pytest.raises(StartupError) as e:
        await getattr(service, start)(context)
    assert str(e.value).endswith(f"does not provide {interface.__name__}")
    assert str(e.value).startswith(f"{kind} backend ")
    assert started == []
    assert not hasattr(service, attr)
