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

from hubsd.cli import DEFAULT_CONFIG, load_for_start


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
    """
    Build the hubsd service for twistd; a config it could not start with
    exits with every problem, as the C{hubsd} command does.
    """
    from twisted.internet import reactor

    from hubsd.ops.log import make_observer
    from hubsd.service import HubsdService

    config, refusal = load_for_start(options["config"])
    if config is None:
        sys.exit(refusal)
    service = HubsdService(config, reactor)
    service.on_fatal = _exit_after_shutdown
    _log_through(service, make_observer(config.section("log")))
    return service
