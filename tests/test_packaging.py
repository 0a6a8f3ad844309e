"""Packaging: every package is installed, and plugins/ lands in twisted/plugins/."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

from hubsd.backends import discover

REPO = Path(__file__).resolve().parent.parent

# The backends the docs name (conf/hubsd.ini); each must be found as a plugin.
DOCUMENTED_BACKENDS = {
    ("storage", "sqlite"),
    ("storage", "postgres"),
    ("storage", "memory"),
    ("files", "filesystem"),
    ("files", "memory"),
    ("sfu", "none"),
    ("cluster", "local"),
}


def test_every_hubsd_package_is_listed_in_setup_cfg() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    on_disk = {
        ".".join(p.relative_to(REPO).parts[:-1]) for p in (REPO / "hubsd").rglob("__init__.py")
    }
    assert on_disk <= listed, f"add to setup.cfg [options] packages: {sorted(on_disk - listed)}"
    assert "twisted.plugins" in listed
    assert not (REPO / "plugins" / "__init__.py").exists()


def test_every_documented_backend_is_found_as_a_plugin() -> None:
    found, errors = discover()
    assert errors == []
    assert DOCUMENTED_BACKENDS <= {(p.kind, p.name) for p in found}


def test_plugin_module_that_fails_to_import_is_reported(tmp_path, monkeypatch) -> None:
    import twisted.plugins

    plugin_dir = tmp_path / "twisted" / "plugins"
    plugin_dir.mkdir(parents=True)
    (plugin_dir / "hubsd_broken_backend.py").write_text("import a_module_that_does_not_exist\n")
    monkeypatch.setattr(twisted.plugins, "__path__", [*twisted.plugins.__path__, str(plugin_dir)])
    from hubsd.backends import find_backend

    plugin, message = find_backend("storage", "broken")
    assert plugin is None
    assert message is not None
    assert "storage backend 'broken' not found; found: memory, postgres, sqlite" in message
    assert "No module named 'a_module_that_does_not_exist'" in message


def test_backend_whose_implementation_fails_to_import_is_a_config_error() -> None:
    from hubsd.backends import BackendPlugin

    plugin = BackendPlugin("storage", "ghost", "no such module", "hubsd.storage.ghost:Store")
    try:
        plugin.load()
    except ImportError as e:
        assert "storage backend 'ghost': cannot import hubsd.storage.ghost:Store" in str(e)
        assert "ModuleNotFoundError" in str(e)
    else:
        raise AssertionError("loading a missing implementation must fail")


def test_a_regular_install_puts_the_plugins_where_twisted_finds_them(tmp_path) -> None:
    """
    ``pip install .`` (not editable): the wheel must carry plugins/ as
    twisted/plugins/. Installed without dependencies into a target folder
    that is put first on the path of a fresh interpreter.
    """
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    assert (target / "twisted" / "plugins" / "hubsd_tap.py").exists()
    assert not (target / "twisted" / "plugins" / "__init__.py").exists()
    # The built web client travels in the wheel: the daemon serves it at /.
    # (A subset, not equality: setuptools' build/ directory of a working tree
    # keeps files of earlier builds; the page names only the current ones.)
    shipped = REPO / "hubsd" / "web" / "client"
    installed = target / "hubsd" / "web" / "client"
    assert {p.name for p in (shipped / "assets").iterdir()} <= {
        p.name for p in (installed / "assets").iterdir()
    }
    assert (installed / "index.html").read_bytes() == (shipped / "index.html").read_bytes()
    probe = (
        "import hubsd, twisted.plugins\n"
        "from twisted.plugin import getPlugins\n"
        "from twisted.application.service import IServiceMaker\n"
        "from hubsd.interfaces import IBackendPlugin\n"
        "assert hubsd.__file__.startswith(%r), hubsd.__file__\n"
        "print(sorted(p.tapname for p in getPlugins(IServiceMaker) if p.tapname == 'hubsd'))\n"
        "print(sorted(p.name for p in getPlugins(IBackendPlugin) if p.kind == 'storage'))\n"
    ) % str(target)
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["['hubsd']", "['memory', 'postgres', 'sqlite']"]
