"""
The ``hubsd`` command.

``hubsd [--config FILE]`` runs the daemon in the foreground (the way systemd
runs it); ``hubsd check-config FILE`` validates a config file and prints
every problem, or "ok". ``twistd -n hubsd --config FILE`` is the same daemon
through twistd (see plugins/hubsd_tap.py).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from twisted.logger import Logger, globalLogBeginner

from hubsd import __version__
from hubsd.config import Config, ConfigError, load_config

DEFAULT_CONFIG = "conf/hubsd.ini"
log = Logger(namespace="hubsd")


def check_config(path: str, out: Any = None) -> int:
    """Print the problems of the config at C{path} (or "ok"); 0 if it is valid."""
    out = out if out is not None else sys.stdout
    try:
        load_config(path)
    except ConfigError as e:
        for problem in e.problems:
            print(problem, file=out)
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
    try:
        config = load_config(options.config)
    except ConfigError as e:
        print(f"hubsd: invalid configuration ({len(e.problems)} problems):", file=sys.stderr)
        for problem in e.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    return run(config)


if __name__ == "__main__":
    sys.exit(main())
