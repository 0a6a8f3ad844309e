"""The daemon as an operator runs it: start, readiness, clean stop, clear failures."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from tests.conftest import BIN, REPO


@pytest.mark.parametrize("twistd", [False, True], ids=["hubsd", "twistd"])
def test_daemon_starts_reports_ready_and_stops_cleanly_on_sigterm(daemon_factory, twistd) -> None:
    daemon = daemon_factory(twistd=twistd).start().wait_ready()
    with urllib.request.urlopen(daemon.url + "/health") as r:
        assert json.load(r) == {"status": "ready"}
        assert r.headers["Date"]  # clients sync their clock from it
    # twistd re-raises the signal that stopped it (systemd counts that as a
    # clean stop); the hubsd command exits 0.
    assert daemon.stop() == (-15 if twistd else 0)
    out = daemon.output()
    assert "hubsd is ready" in out
    assert "Traceback" not in out
    stopped = [line.split("stopped ")[1] for line in out.splitlines() if "] stopped " in line]
    assert stopped == [
        "metrics",
        "manhole",
        "listeners",
        "media",
        "sfu",
        "vault",
        "accounts",
        "rooms",
        "router",
        "cluster",
        "files",
        "storage",
    ]


@pytest.mark.parametrize("twistd", [False, True], ids=["hubsd", "twistd"])
def test_ctrl_c_stops_cleanly_with_the_status_the_readme_gives(daemon_factory, twistd) -> None:
    daemon = daemon_factory(twistd=twistd).start().wait_ready()
    assert daemon.process is not None
    daemon.process.send_signal(signal.SIGINT)
    # README "Running": hubsd exits 0; twistd re-raises the signal (130 in a shell).
    assert daemon.wait_exit() == (-signal.SIGINT if twistd else 0)
    out = daemon.output()
    assert "] stopped storage" in out
    assert "Traceback" not in out


@pytest.mark.parametrize("twistd", [False, True], ids=["hubsd", "twistd"])
def test_port_in_use_exits_1_with_one_clear_line(daemon_factory, twistd) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        daemon = daemon_factory(twistd=twistd, port=port).start()
        assert daemon.wait_exit() == 1
    out = daemon.output()
    assert "Traceback" not in out
    lines = [line for line in out.splitlines() if "cannot start" in line]
    assert len(lines) == 1
    assert f"cannot listen on tcp:{port}:interface=127.0.0.1 (web)" in lines[0]
    assert "Address already in use" in lines[0]
    # The parts that had started are undone without a word: that one line
    # is the last thing hubsd itself says.
    ours = [line for line in out.splitlines() if "[hubsd" in line]
    assert ours[-1] == lines[0]
    assert " stopped " not in out


def test_bad_config_exits_1_listing_every_problem(daemon_factory) -> None:
    daemon = daemon_factory("[wamp]\nrealms = hubsd\nbogus = 1\n[log]\nlevel = loud\n").start()
    assert daemon.wait_exit() == 1
    out = daemon.output()
    assert "invalid configuration (2 problems)" in out
    assert "[wamp] bogus: unknown key" in out
    assert "[log] level: expected one of" in out
    assert "Traceback" not in out


@pytest.mark.parametrize("twistd", [False, True], ids=["hubsd", "twistd"])
def test_one_problem_is_one_problem_with_the_nearest_key(daemon_factory, twistd) -> None:
    daemon = daemon_factory("[wamp]\nrealm = hubsd\n", twistd=twistd).start()
    assert daemon.wait_exit() == 1
    out = daemon.output()
    assert "hubsd: invalid configuration (1 problem):" in out
    assert "[wamp] realm: unknown key; did you mean realms?" in out


def check_config_lines(config) -> tuple[int, list[str]]:
    """Run ``hubsd check-config`` as ExecStartPre does: same file, same directory."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run(
        [sys.executable, "-m", "hubsd", "check-config", str(config)],
        capture_output=True,
        text=True,
        cwd=config.parent,
        env=env,
    )
    return run.returncode, run.stdout.splitlines()


@pytest.mark.parametrize("twistd", [False, True], ids=["hubsd", "twistd"])
def test_state_dir_that_is_a_file_is_refused_by_check_config_and_start_alike(
    daemon_factory, tmp_path, twistd
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    daemon = daemon_factory(state_dir=str(blocker), twistd=twistd)
    status, lines = check_config_lines(daemon.config)
    expected = f"{daemon.config}: [hubsd] state_dir: {blocker} exists and is not a directory"
    assert (status, lines) == (1, [expected])
    assert daemon.start().wait_exit() == 1
    out = daemon.output()
    assert "hubsd: cannot start (1 problem):" in out
    assert f"  {expected}" in out.splitlines()
    assert "File exists" not in out
    assert "Traceback" not in out


def test_state_dir_below_a_file_cannot_be_created(daemon_factory, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    daemon = daemon_factory(state_dir=f"{blocker}/state")
    status, lines = check_config_lines(daemon.config)
    assert status == 1
    assert lines == [
        f"{daemon.config}: [hubsd] state_dir: {blocker}/state cannot be created: "
        f"{blocker} is not a directory"
    ]
    assert daemon.start().wait_exit() == 1
    assert "Traceback" not in daemon.output()


@pytest.mark.parametrize("twistd", [False, True], ids=["hubsd", "twistd"])
def test_log_file_that_cannot_be_opened_is_refused_without_a_traceback(
    daemon_factory, tmp_path, twistd
) -> None:
    log_file = tmp_path / "no-such-dir" / "hubsd.log"
    daemon = daemon_factory(f"[log]\nfile = {log_file}\n", twistd=twistd)
    status, lines = check_config_lines(daemon.config)
    expected = (
        f"{daemon.config}: [log] file: {log_file} cannot be created: "
        f"{log_file.parent} is not a directory"
    )
    assert (status, lines) == (1, [expected])
    assert daemon.start().wait_exit() == 1
    out = daemon.output()
    assert f"  {expected}" in out.splitlines()
    assert "Traceback" not in out


def test_role_of_a_realm_not_served_is_refused_by_check_config_and_start(daemon_factory) -> None:
    daemon = daemon_factory("[wamp.role:guest]\nrealm = hubs\nsubscribe = *\n")
    status, lines = check_config_lines(daemon.config)
    expected = (
        f"{daemon.config}: [wamp.role:guest] realm: realm 'hubs' is not in [wamp] realms (hubsd)"
    )
    assert (status, lines) == (1, [expected])
    assert daemon.start().wait_exit() == 1
    assert f"  {expected}" in daemon.output().splitlines()


def test_unreachable_postgres_exits_1_naming_host_and_database(daemon_factory) -> None:
    daemon = daemon_factory(
        "[storage]\nbackend = postgres\n"
        "dsn = host=127.0.0.1 port=1 dbname=nowhere user=hubsd connect_timeout=2\n"
    ).start()
    assert daemon.wait_exit(60) == 1
    out = daemon.output()
    assert "hubsd cannot start: storage backend postgres:" in out
    assert "127.0.0.1" in out and "nowhere" in out
    assert "Traceback" not in out


@pytest.mark.parametrize("twistd", [False, True], ids=["hubsd", "twistd"])
def test_json_log_format_writes_json_lines(daemon_factory, twistd) -> None:
    daemon = daemon_factory("[log]\nformat = json\n", twistd=twistd).start().wait_ready()
    daemon.stop()
    events = [json.loads(line) for line in daemon.output().splitlines() if line.strip()]
    assert any(e.get("log_format") == "hubsd is ready" for e in events)


def test_twistd_help_lists_hubsd() -> None:
    out = subprocess.run(
        [str(BIN / "twistd"), "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert any(line.split()[:1] == ["hubsd"] for line in out.splitlines())


def test_check_config_command_exits_nonzero_on_error(tmp_path) -> None:
    bad = tmp_path / "bad.ini"
    bad.write_text("[storage]\nbackend = nope\n")
    run = subprocess.run(
        [sys.executable, "-m", "hubsd", "check-config", str(bad)], capture_output=True, text=True
    )
    assert run.returncode == 1
    assert "[storage] backend: storage backend 'nope' not found; found:" in run.stdout


def test_metrics_endpoint_serves_router_counters(daemon_factory) -> None:
    from tests.conftest import free_port

    port = free_port()
    daemon = daemon_factory(f"[metrics]\nendpoint = tcp:{port}:interface=127.0.0.1\n")
    daemon.start().wait_ready()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as r:
        text = r.read().decode()
    assert "hubsd_up 1.0" in text
    # Two sessions are in-process: the room core's and the accounts'.
    assert 'hubsd_wamp_sessions{realm="hubsd"} 2.0' in text
    assert "hubsd_wamp_events_dropped_total 0.0" in text
    assert "hubsd_rooms_live 0.0" in text
    assert "hubsd_room_naf_dropped_not_owner_total 0.0" in text


def unit_settings() -> list[tuple[str, str]]:
    """(key, value) of every setting in systemd/hubsd.service, commented-out ones with '#'."""
    text = (REPO / "systemd" / "hubsd.service").read_text()
    return [
        (key.strip(), value.strip())
        for key, sep, value in (line.partition("=") for line in text.splitlines())
        if sep and not key.startswith("# ")
    ]


def test_systemd_unit_checks_the_config_it_runs() -> None:
    settings = dict(unit_settings())
    pre, start = settings["ExecStartPre"].split(), settings["ExecStart"].split()
    assert pre[1:] == ["check-config", start[-1]]
    assert start[1:] == ["--config", start[-1]]
    assert pre[0] == start[0]
    # Ordering only after what hubsd can use; nothing uses Redis.
    assert "redis" not in settings["After"]
    assert "Documentation" not in settings  # no path that an install does not have


def test_systemd_unit_credentials_are_the_ones_the_docs_name() -> None:
    credentials = dict(
        value.split(":", 1) for key, value in unit_settings() if key == "#LoadCredential"
    )
    assert credentials == {
        "manhole.passwd": "/etc/hubsd/manhole.passwd",
        "manhole.keys": "/etc/hubsd/manhole.keys",
    }
    operations = (REPO / "docs" / "operations.md").read_text()
    for name, source in credentials.items():
        assert f"LoadCredential={name}:{source}" in operations
        assert f"$CREDENTIALS_DIRECTORY/{name}" in operations
