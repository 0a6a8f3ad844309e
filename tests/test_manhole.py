"""The admin console: a real login over telnet and SSH to the running daemon."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import time

import pytest

from hubsd.ops.manhole import ManholeSetupError, endpoint_is_local, ssh_factory, telnet_factory
from tests.conftest import free_port

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240


def negotiate(sock: socket.socket, chunk: bytes) -> bytes:
    """
    Answer telnet option negotiation the way a plain telnet client does
    (accept the server's WILL, refuse its DO) and return the text left over.
    """
    text = bytearray()
    i = 0
    while i < len(chunk):
        if chunk[i] != IAC:
            text.append(chunk[i])
            i += 1
            continue
        command = chunk[i + 1]
        if command == SB:
            i = chunk.index(bytes([IAC, SE]), i) + 2
            continue
        option = chunk[i + 2]
        if command == WILL:
            sock.sendall(bytes([IAC, DO, option]))
        elif command == WONT:
            sock.sendall(bytes([IAC, DONT, option]))
        elif command == DO:
            sock.sendall(bytes([IAC, WONT, option]))
        i += 3
    return bytes(text)


def read_until(sock: socket.socket, marker: bytes, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while marker not in data:
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw {marker!r}; got {data[-500:]!r}")
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError(f"connection closed before {marker!r}; got {data[-500:]!r}")
        data += negotiate(sock, chunk)
    return data


def private_file(path, text: str) -> str:
    path.write_text(text)
    os.chmod(path, 0o600)
    return str(path)


def telnet_login(daemon_factory, tmp_path, password: bytes) -> socket.socket:
    """Start hubsd with a telnet console and log in as admin with C{password}."""
    port = free_port()
    passwd = private_file(tmp_path / "passwd", "admin:correct horse\n")
    daemon = daemon_factory(
        f"[manhole]\ntelnet = tcp:{port}:interface=127.0.0.1\npasswd = {passwd}\n"
    )
    daemon.start().wait_ready()
    sock = socket.create_connection(("127.0.0.1", port))
    read_until(sock, b"Username: ")
    sock.sendall(b"admin\r\n")
    read_until(sock, b"Password: ")
    sock.sendall(password + b"\r\n")
    return sock


def test_telnet_console_evaluates_python_after_login(daemon_factory, tmp_path) -> None:
    with telnet_login(daemon_factory, tmp_path, b"correct horse") as sock:
        read_until(sock, b">>> ")
        sock.sendall(b"hubsd.state + '!' * 3\r\n")
        assert b"ready!!!" in read_until(sock, b"ready!!!")


def test_telnet_console_refuses_a_wrong_password(daemon_factory, tmp_path) -> None:
    with telnet_login(daemon_factory, tmp_path, b"battery staple") as sock:
        # Refused: asked again, never given a prompt.
        assert b">>>" not in read_until(sock, b"Username: ")


def test_ssh_console_accepts_an_authorized_key(daemon_factory, tmp_path) -> None:
    port = free_port()
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    keys = private_file(tmp_path / "authorized_keys", (tmp_path / "id_ed25519.pub").read_text())
    daemon = daemon_factory(
        f"[manhole]\nssh = tcp:{port}:interface=127.0.0.1\nauthorized_keys = {keys}\n"
    )
    daemon.start().wait_ready()
    ssh = subprocess.Popen(
        [
            "ssh",
            "-tt",
            "-p",
            str(port),
            "-i",
            str(key),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            f"UserKnownHostsFile={tmp_path / 'known_hosts'}",
            "-o",
            "BatchMode=yes",
            "-o",
            "PasswordAuthentication=no",
            "admin@127.0.0.1",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Keep stdin open: an SSH end-of-file closes the console session.
    assert ssh.stdin is not None and ssh.stdout is not None
    ssh.stdin.write(b"print(6 * 7)\r\n")
    ssh.stdin.flush()
    out = b""
    deadline = time.monotonic() + 20
    try:
        while b"42" not in out and time.monotonic() < deadline:
            ready, _, _ = select.select([ssh.stdout], [], [], 1)
            if ready:
                chunk = os.read(ssh.stdout.fileno(), 4096)
                if not chunk:
                    break
                out += chunk
    finally:
        ssh.kill()
        ssh.wait()
    assert b"42" in out, out
    assert (tmp_path / "state0" / "manhole_host_key").exists()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_console_refuses_to_start_with_a_password_file_others_may_read(
    daemon_factory, tmp_path, mode
) -> None:
    port = free_port()
    passwd = tmp_path / "passwd"
    passwd.write_text("admin:pw\n")
    os.chmod(passwd, mode)
    daemon = daemon_factory(
        f"[manhole]\ntelnet = tcp:{port}:interface=127.0.0.1\npasswd = {passwd}\n"
    ).start()
    assert daemon.wait_exit() == 1
    out = daemon.output()
    assert "hubsd: cannot start (1 problem):" in out
    assert (
        f"[manhole] passwd: {passwd} is readable or writable by group or others "
        f"(mode {mode:04o}); chmod 600 it"
    ) in out
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # never listened


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_console_factories_refuse_secret_files_others_may_read(tmp_path, mode) -> None:
    # The service's own check, behind the one start-up makes first.
    passwd = tmp_path / "passwd"
    passwd.write_text("admin:pw\n")
    passwd.chmod(mode)
    options = {"passwd": str(passwd), "authorized_keys": ""}
    with pytest.raises(ManholeSetupError, match=f"mode {mode:04o}"):
        telnet_factory(options, {})
    with pytest.raises(ManholeSetupError, match="passwd file"):
        ssh_factory(options, {}, str(tmp_path))
    options = {"passwd": "", "authorized_keys": str(passwd)}
    with pytest.raises(ManholeSetupError, match="authorized_keys file"):
        ssh_factory(options, {}, str(tmp_path))


@pytest.mark.parametrize(
    "endpoint, local",
    [
        ("tcp:2323:interface=127.0.0.1", True),
        ("tcp:2323:interface=127.8.9.10", True),
        ("tcp:2323:interface=localhost", True),
        ("tcp6:2323:interface=\\:\\:1", True),
        ("unix:/run/hubsd/console.sock", True),
        # Private networks are not local: anyone on them could reach the console.
        ("tcp:2323:interface=10.0.0.5", False),
        ("tcp:2323:interface=192.168.1.2", False),
        ("tcp:2323:interface=172.16.0.1", False),
        ("tcp:2323:interface=169.254.1.1", False),
        ("tcp6:2323:interface=fd00\\:\\:1", False),
        ("tcp6:2323:interface=fe80\\:\\:1", False),
        ("tcp:2323:interface=0.0.0.0", False),
        ("tcp6:2323:interface=\\:\\:", False),
        ("tcp:2323", False),
        ("tcp:2323:interface=console.example", False),
        ("ssl:2323:interface=10.1.2.3:privateKey=k.pem", False),
    ],
)
def test_only_loopback_and_unix_sockets_count_as_local(endpoint: str, local: bool) -> None:
    assert endpoint_is_local(endpoint) is local


def test_config_refuses_a_console_on_a_private_network_unless_allowed(tmp_path) -> None:
    from hubsd.config import ConfigError, load_config

    ini = tmp_path / "h.ini"
    ini.write_text("[manhole]\ntelnet = tcp:2323:interface=10.0.0.5\npasswd = p\n")
    with pytest.raises(ConfigError, match="telnet: console must listen on loopback"):
        load_config(str(ini))
    ini.write_text(ini.read_text() + "allow_remote = true\n")
    assert load_config(str(ini)).section("manhole")["telnet"] == "tcp:2323:interface=10.0.0.5"
