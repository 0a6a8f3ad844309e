"""
Backend discovery: named backend factories found as Twisted plugins.

A backend plugin is a `BackendPlugin` object in any ``twisted/plugins/``
module. It names its implementation by dotted path, imported only when the
config chooses it: an implementation that fails to import is then reported as
a config error with the import error, rather than vanishing the way
``getPlugins`` silently skips a plugin module that fails to import.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from twisted.plugin import IPlugin, getPlugins
from zope.interface import implementer, provider

from hubsd.interfaces import IBackendPlugin
from hubsd.options import Option

KINDS = ("storage", "files", "sfu", "cluster")


@dataclass(frozen=True)
class BuildContext:
    """What a backend factory gets besides its own options."""

    reactor: Any
    state_dir: str
    config: Any


@implementer(IPlugin, IBackendPlugin)
@dataclass(frozen=True)
class BackendPlugin:
    """
    A backend of ``kind`` called ``name`` in the config, built by the
    callable at ``factory`` ("package.module:callable") as
    ``factory(options, context)``.
    """

    kind: str
    name: str
    description: str
    factory: str
    options: tuple[Option, ...] = ()

    def load(self) -> Callable[[Mapping[str, Any], BuildContext], Any]:
        """
        Import the factory.

        @raise ImportError: with the module and the original error.
        """
        module_name, _, attr = self.factory.partition(":")
        try:
            module = importlib.import_module(module_name)
            obj: Any = module
            for part in attr.split("."):
                obj = getattr(obj, part)
        except Exception as e:
            raise ImportError(
                f"{self.kind} backend {self.name!r}: cannot import {self.factory}: "
                f"{type(e).__name__}: {e}"
            ) from e
        return obj


def discover() -> tuple[list[Any], list[str]]:
    """
    All backend plugins installed, and the errors of plugin modules that
    failed to import (which ``getPlugins`` only logs).
    """
    import twisted.plugins

    errors: list[str] = []

    @provider(ILogObserver)
    def catch(event: LogEvent) -> None:
        # getPlugins reports through the legacy log.err(), whose events carry
        # "failure" rather than the new "log_failure".
        failure = event.get("log_failure") or event.get("failure")
        if failure is not None:
            errors.append(f"{type(failure.value).__name__}: {failure.value}")

    globalLogPublisher.addObserver(catch)
    try:
        found = list(getPlugins(IBackendPlugin, twisted.plugins))
    finally:
        globalLogPublisher.removeObserver(catch)
    return found, errors


def find_backend(kind: str, name: str) -> tuple[Any, str | None]:
    """
    The plugin for backend ``name`` of ``kind``, importable; or None and a
    message listing the backends that were found and any import errors.
    """
    found, errors = discover()
    for plugin in found:
        if plugin.kind == kind and plugin.name == name:
            try:
                plugin.load()
            except ImportError as e:
                return None, str(e)
            return plugin, None
    names = sorted(p.name for p in found if p.kind == kind)
    message = f"{kind} backend {name!r} not found; found: {', '.join(names) or 'none'}"
    if errors:
        message += "; plugin modules that failed to import: " + "; ".join(errors)
    return None, message


def build_backend(config: Any, kind: str, context: BuildContext) -> Any:
    """Build the backend the (validated) config chose for ``kind``."""
    plugin = config.backend(kind)
    options = {k: v for k, v in config.section(kind).items() if k != "backend"}
    return plugin.load()(options, context)


def all_backend_keys(kind: str) -> set[str]:
    """Every key that some installed backend of ``kind`` declares."""
    found, _ = discover()
    return {opt.key for plugin in found if plugin.kind == kind for opt in plugin.options}
