"""Run a Node scenario with the npm phoenix client against a daemon in this process."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import reactor
from twisted.internet.utils import getProcessOutputAndValue

INTEROP = Path(__file__).resolve().parent.parent / "interop"


def node() -> str:
    """The node binary, failing (not skipping) when the interop set-up is missing."""
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is not installed: the Phoenix interop tests need Node.js >= 20")
    if not (INTEROP / "node_modules" / "phoenix").is_dir():
        pytest.fail("tests/interop/node_modules is missing: run `npm ci --prefix tests/interop`")
    return found


async def run_scenario(script: str, args: dict[str, Any], seconds: float = 90.0) -> Any:
    """Run tests/interop/<script> with C{args} as JSON; its printed JSON result.
    The reactor keeps running meanwhile, so the daemon in this process serves it."""
    d = getProcessOutputAndValue(
        node(),
        [str(INTEROP / script), json.dumps(args)],
        env=dict(os.environ),
        path=str(INTEROP),
        reactor=reactor,
    )
    d.addTimeout(seconds, reactor)
    out, err, code = await d
    if code != 0:
        raise AssertionError(f"{script} exited {code}:\n{err.decode(errors='replace')}")
    return json.loads(out.decode().strip().splitlines()[-1])
