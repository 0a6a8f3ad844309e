"""The README's two set-up commands stay true: CI runs the test one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    return re.findall(r"```sh\n(.+?)\n```", text)


def test_readme_opens_with_a_run_command_and_a_test_command() -> None:
    run, test = readme_commands()[:2]
    assert run.endswith("hubsd --config conf/hubsd.ini")
    assert "pytest" in test


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test = readme_commands()[1]
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert test in ci


def test_the_run_command_uses_the_example_config_that_validates() -> None:
    from hubsd.config import load_config

    config = load_config(str(REPO / "conf" / "hubsd.ini"))
    assert config.section("listen")["web"].endswith("interface=127.0.0.1")
    assert config.backend("storage").name == "sqlite"
    assert config.backend("files").name == "filesystem"
