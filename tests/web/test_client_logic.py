"""The web client's logic without a browser: web/test/*.test.js under Node's test runner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parent.parent.parent / "web"


def test_client_logic_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the web client's tests need Node.js >= 20")
    done = subprocess.run(
        [node, "--test", "--test-reporter=tap", "test/"],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout
    assert "# pass 34" in done.stdout
