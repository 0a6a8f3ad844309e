"""
What the interop tests share: a real hubsd daemon in a subprocess, Node.js,
and running one Node scenario (tests/interop/NAME.js) that prints its
result as one JSON line.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port

REPO = Path(__file__).resolve().parent.parent.parent
INTEROP = REPO / "tests" / "interop"

#: What every interop daemon's config starts with (`running_hubsd` fills in
#: the state directory and the port); a test appends its own sections.
BASE_CONFIG = """\
[hubsd]
state_dir = {state}
[listen]
web = tcp:{port}:interface=127.0.0.1
[storage]
backend = memory
[log]
level = warn
"""


def node_with(package: str, needed_by: str) -> str:
    """
    The node binary, once tests/interop/node_modules has C{package}; fails
    (never skips) naming the missing set-up step.
    """
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"node is not installed: {needed_by} need Node.js >= 20")
    if not (INTEROP / "node_modules" / package).is_dir():
        pytest.fail(
            "tests/interop/node_modules is missing: run `npm ci --prefix tests/interop` first"
        )
    return node


@contextmanager
def running_hubsd(tmp: Path, config: str) -> Iterator[int]:
    """
    Run ``python -m hubsd`` with C{config} (``{state}`` and ``{port}`` are
    filled in) until ``/health`` says ready; yield the port; SIGTERM at the end.
    """
    port = free_port()
    path = tmp / "hubsd.ini"
    path.write_text(config.format(state=tmp / "state", port=port))
    log = tmp / "hubsd.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hubsd", "--config", str(path)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"hubsd exited {proc.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"hubsd not ready after 30s:\n{log.read_text()}")
            time.sleep(0.05)
        yield port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_scenario(node: str, name: str, args: list[str], timeout: float) -> dict[str, Any]:
    """Run tests/interop/NAME.js with C{args}; the JSON object it printed last."""
    done = subprocess.run(
        [node, str(INTEROP / f"{name}.js"), *args],
        cwd=INTEROP,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"{name}.js printed no result (exit {done.returncode}):\n{done.stderr[-3000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert done.returncode == 0, (
        f"{name}.js failed: {json.dumps(result, indent=1)}\n{done.stderr[-3000:]}"
    )
    return result
