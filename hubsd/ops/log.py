"""Log observers built from the ``[log]`` section (twisted.logger only)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import IO, Any

from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    jsonFileLogObserver,
    textFileLogObserver,
)

_LEVELS = {
    "debug": LogLevel.debug,
    "info": LogLevel.info,
    "warn": LogLevel.warn,
    "error": LogLevel.error,
    "critical": LogLevel.critical,
}


def open_log_file(path: str) -> IO[str]:
    """Standard output for '-', else the file opened for appending (line-buffered)."""
    if path == "-":
        return sys.stdout
    return open(path, "a", encoding="utf-8", buffering=1)


def make_observer(options: Mapping[str, Any], out: IO[str] | None = None) -> ILogObserver:
    """
    An observer writing text or JSON lines at or above the configured level.
    Events below the level are filtered before any formatting happens.
    """
    stream = out if out is not None else open_log_file(options["file"])
    if options["format"] == "json":
        # recordSeparator="" makes plain JSON lines instead of RFC 7464 records.
        writer = jsonFileLogObserver(stream, recordSeparator="")
    else:
        writer = textFileLogObserver(stream)
    predicate = LogLevelFilterPredicate(defaultLogLevel=_LEVELS[options["level"]])
    return FilteringLogObserver(writer, [predicate])
