"""
twistd support: ``twistd -n hubsd --config FILE``.

The plugin module (plugins/hubsd_tap.py) only names this; everything real is
here so that ``twistd --help`` stays fast and never imports the daemon.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import Any

from twisted.logger import ILogObserver
from twisted.python import usage
from twisted.python.components import Componentized

from hubsd.cli import DEFAULT_CONFIG


class Options(usage.Options):
    """Command line of ``twistd hubsd``."""

    optParameters = [
        ["config", "c", DEFAULT_CONFIG, "hubsd INI config file."],
    ]


def _log_through(service: Any, observer: Any) -> None:
    """
    Make twistd log through C{observer} ([log] settings): twistd creates its
    Application after makeService, parents the service to it, then asks it
    for an ILogObserver component; set that component when parented.
    """
    original = service.setServiceParent

    def setServiceParent(parent: Any) -> None:
        if isinstance(parent, Componentized):
            parent.setComponent(ILogObserver, observer)
        original(parent)

    service.setServiceParent = setServiceParent


def _exit_after_shutdown(status: int) -> None:
    """
    twistd has no way to set its exit status; a failed start must still end
    with a non-zero one for systemd. Exit with it once twistd has cleaned up.
    """
    from twisted.internet import reactor

    def leave() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)

    atexit.register(leave)
    reactor.stop()


def makeService(options: Options) -> Any:
    """Build the hubsd service for twistd; a bad config exits with every problem."""
    from twisted.internet import reactor

    from hubsd.config import ConfigError, load_config
    from hubsd.ops.log import make_observer
    from hubsd.service import HubsdService

    try:
        config = load_config(options["config"])
    except ConfigError as e:
        sys.exit(
            f"hubsd: invalid configuration ({len(e.problems)} problems):\n"
            + "\n".join(f"  {p}" for p in e.problems)
        )
    service = HubsdService(config, reactor)
    service.on_fatal = _exit_after_shutdown
    _log_through(service, make_observer(config.section("log")))
    return service
