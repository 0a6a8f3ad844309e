"""
The checks start-up makes of the machine, short of binding ports.

A config file can be valid and still unusable here: its state directory is
a file, its log file cannot be written, the console's password file or a
token key in ``<state_dir>/keys`` is missing or readable by others.
``hubsd check-config`` and the daemon's start both run `preflight`, so the
unit's ``ExecStartPre`` refuses exactly what the start would refuse, with
the same words. Nothing here creates or changes a file.
"""

from __future__ import annotations

import os

from hubsd.config import Config, Problem
from hubsd.ops.manhole import private_file_problem
from hubsd.rooms.keys import KeyRing

__all__ = ["log_file_problem", "preflight", "state_dir_problem"]


def state_dir_problem(path: str) -> str | None:
    """
    Why C{path} cannot be the state directory, or None: it must be a
    writable directory, or be creatable (its nearest existing parent is a
    writable directory). Read-only: the directory is not created.
    """
    path = os.path.abspath(path)
    if os.path.isdir(path):
        if not os.access(path, os.W_OK | os.X_OK):
            return f"{path} is not writable by this user"
        return None
    if os.path.lexists(path):
        return f"{path} exists and is not a directory"
    parent = os.path.dirname(path)
    while not os.path.lexists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        return f"{path} cannot be created: {parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{path} cannot be created: {parent} is not writable by this user"
    return None


def log_file_problem(path: str) -> str | None:
    """
    Why the daemon could not append its log to C{path}, or None ('-' is
    standard output). Read-only: the file is not created.
    """
    if path == "-":
        return None
    path = os.path.abspath(path)
    if os.path.isdir(path):
        return f"{path} is a directory"
    if os.path.exists(path):
        return None if os.access(path, os.W_OK) else f"{path} is not writable by this user"
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        return f"{path} cannot be created: {parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{path} cannot be created: {parent} is not writable by this user"
    return None


def preflight(config: Config) -> list[Problem]:
    """Every reason the (valid) C{config} could not start here, as config problems."""
    problems: list[Problem] = []

    def report(section: str, key: str, message: str | None) -> None:
        if message is not None:
            problems.append(Problem(config.path, section, key, message))

    state_dir = config.section("hubsd")["state_dir"]
    report("hubsd", "state_dir", state_dir_problem(state_dir))
    # The token keys the room core would load from the state directory.
    report("hubsd", "state_dir", KeyRing.problem(os.path.abspath(state_dir)))
    report("log", "file", log_file_problem(config.section("log")["file"]))
    manhole = config.section("manhole")
    # The files the console would open: passwd for telnet and SSH,
    # authorized_keys for SSH only (as hubsd.ops.manhole uses them).
    needed = []
    if (manhole["telnet"] or manhole["ssh"]) and manhole["passwd"]:
        needed.append("passwd")
    if manhole["ssh"] and manhole["authorized_keys"]:
        needed.append("authorized_keys")
    for key in needed:
        problem = private_file_problem(manhole[key])
        report("manhole", key, None if problem is None else f"{manhole[key]} {problem}")
    accounts = config.section("accounts")
    # The SMTP password is a secret like the console's: owner-only, or refused.
    secret = accounts["smtp_password_file"]
    if accounts["smtp_host"] and secret:
        problem = private_file_problem(secret)
        report("accounts", "smtp_password_file", None if problem is None else f"{secret} {problem}")
    return problems
