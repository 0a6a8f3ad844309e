"""The worker's event loop: uvloop when it is importable, asyncio's own otherwise."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

PROBE = """
import asyncio, sys
if sys.argv[1] == "hide":
    sys.modules["uvloop"] = None  # import uvloop now raises ImportError
from hubsd.sfu import worker

async def which():
    print(type(asyncio.get_running_loop()).__module__)

worker.run(which())
"""


def loop_module(mode: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], cwd=REPO, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_the_worker_runs_on_uvloop_when_installed() -> None:
    assert loop_module("keep").startswith("uvloop")


def test_without_uvloop_the_worker_falls_back_to_asyncios_loop() -> None:
    assert loop_module("hide").startswith("asyncio")
