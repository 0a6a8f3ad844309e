"""A real hubsd daemon in a subprocess, for tests that drive it with real clients."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import free_port

REPO = Path(__file__).resolve().parent.parent.parent


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
