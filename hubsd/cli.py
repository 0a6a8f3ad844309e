"""
The ``hubsd`` command.

``hubsd [--config FILE]`` runs the daemon in the foreground (the way systemd
runs it); ``hubsd check-config FILE`` validates a config file, makes every
check start-up makes except binding ports, and prints every problem, or
"ok". ``twistd -n hubsd --config FILE`` is the same daemon through twistd
(see plugins/hubsd_tap.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import Any

from twisted.logger import Logger, globalLogBeginner

from hubsd import __version__
from hubsd.config import Config, ConfigError, Problem, load_config

DEFAULT_CONFIG = "conf/hubsd.ini"
log = Logger(namespace="hubsd")


def load_for_start(path: str) -> tuple[Config | None, str]:
    """
    The config at C{path} if the daemon could start with it; else None and
    the text to show: a heading and one indented line per problem. Both the
    C{hubsd} command and twistd's C{makeService} start through this.
    """
    try:
        config = load_config(path)
    except ConfigError as e:
        return None, _listing("hubsd: " + e.summary(), e.problems)
    problems = _preflight(config)
    if problems:
        n = len(problems)
        heading = f"hubsd: cannot start ({n} problem{'' if n == 1 else 's'}):"
        return None, _listing(heading, problems)
    return config, ""


def _listing(heading: str, problems: Iterable[Problem]) -> str:
    return "\n".join([heading, *(f"  {p}" for p in problems)])


def _preflight(config: Config) -> list[Problem]:
    from hubsd.ops.preflight import preflight

    return preflight(config)


def check_config(path: str, out: Any = None) -> int:
    """
    Print the problems of the config at C{path} (or "ok"); 0 if the daemon
    could start with it. Problems in the file come first; only a valid file
    is then checked against this machine (state directory, console files).
    """
    out = out if out is not None else sys.stdout
    try:
        problems = _preflight(load_config(path))
    except ConfigError as e:
        problems = list(e.problems)
    for problem in problems:
        print(problem, file=out)
    if problems:
        return 1
    print("ok", file=out)
    return 0


def run(config: Config, reactor: Any = None) -> int:
    """Run the daemon until it is stopped (SIGTERM/SIGINT); return the exit status."""
    if reactor is None:
        from twisted.internet import reactor as default_reactor

        reactor = default_reactor
    from hubsd.ops.log import make_observer
    from hubsd.service import HubsdService

    globalLogBeginner.beginLoggingTo(
        [make_observer(config.section("log"))], redirectStandardIO=False
    )
    service = HubsdService(config, reactor)
    service.on_fatal = lambda status: reactor.stop()
    reactor.callWhenRunning(service.startService)
    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    reactor.run()
    return service.exit_status


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["check-config"]:
        checker = argparse.ArgumentParser(
            prog="hubsd check-config", description="Validate a hubsd config file."
        )
        checker.add_argument("config", help="path of the INI file")
        return check_config(checker.parse_args(args[1:]).config)
    parser = argparse.ArgumentParser(
        prog="hubsd",
        description="Run the hubsd daemon in the foreground. "
        "'hubsd check-config FILE' validates a config file.",
    )
    parser.add_argument(
        "-c", "--config", default=DEFAULT_CONFIG, help=f"INI file (default {DEFAULT_CONFIG})"
    )
    parser.add_argument("--version", action="version", version=f"hubsd {__version__}")
    options = parser.parse_args(args)
    config, refusal = load_for_start(options.config)
    if config is None:
        print(refusal, file=sys.stderr)
        return 1
    return run(config)


if __name__ == "__main__":
    sys.exit(main())
