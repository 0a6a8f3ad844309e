"""
hubsd's configuration: one INI file, checked against a schema declared as data.

The schema (``hubsd.schema.SCHEMA``) lists every section and key with its
type, default and documentation. Loading a file either returns a frozen
`Config` or raises `ConfigError` carrying *every* problem found, each naming
the file, section and key, so an operator fixes the file in one pass.

Backend sections (``[storage]``, ``[files]``, ``[sfu]``, ``[cluster]``) have a
``backend`` key; the keys a backend adds are declared by its plugin (see
``hubsd.backends``), so third-party backends are validated the same way.
"""

from __future__ import annotations

import configparser
import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from hubsd.options import Option, OptionError

__all__ = [
    "Config",
    "ConfigError",
    "Problem",
    "SectionSpec",
    "load_config",
    "parse_config",
]


@dataclass(frozen=True)
class SectionSpec:
    """
    One section of the schema.

    A *templated* section may appear many times as ``[name:INSTANCE]`` (for
    example ``[wamp.principal:alice]``); each instance has the same keys.
    A section with ``backend_kind`` selects a backend plugin with its
    ``backend`` key and accepts that plugin's extra options.
    """

    name: str
    doc: str
    options: tuple[Option, ...]
    templated: bool = False
    backend_kind: str | None = None
    check: Callable[[Mapping[str, Any]], list[tuple[str, str]]] | None = None
    """Cross-key rule: typed values -> [(key, message)] for each violation."""

    def option(self, key: str) -> Option | None:
        for opt in self.options:
            if opt.key == key:
                return opt
        return None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file, located as precisely as we can."""

    path: str
    section: str | None
    key: str | None
    message: str

    def __str__(self) -> str:
        where = self.path
        if self.section is not None:
            where += f": [{self.section}]"
            if self.key is not None:
                where += f" {self.key}"
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """The config file is unusable; ``problems`` lists every reason."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def summary(self) -> str:
        """The heading shown above the problems: 'invalid configuration (1 problem):'."""
        n = len(self.problems)
        return f"invalid configuration ({n} problem{'' if n == 1 else 's'}):"


class _Frozen:
    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")


class Config(_Frozen):
    """
    A validated, immutable configuration.

    ``section(name)`` returns the typed values of a plain section,
    ``templated(name)`` the instances of a templated one, and
    ``backend(kind)`` the chosen backend plugin with its typed options.
    """

    __slots__ = ("path", "_sections", "_templated", "_backends")

    path: str
    _sections: Mapping[str, Mapping[str, Any]]
    _templated: Mapping[str, Mapping[str, Mapping[str, Any]]]
    _backends: Mapping[str, Any]

    def __init__(
        self,
        path: str,
        sections: dict[str, dict[str, Any]],
        templated: dict[str, dict[str, dict[str, Any]]],
        backends: dict[str, Any],
    ) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(
            self,
            "_sections",
            MappingProxyType({k: MappingProxyType(v) for k, v in sections.items()}),
        )
        object.__setattr__(
            self,
            "_templated",
            MappingProxyType(
                {
                    k: MappingProxyType({n: MappingProxyType(v) for n, v in inst.items()})
                    for k, inst in templated.items()
                }
            ),
        )
        object.__setattr__(self, "_backends", MappingProxyType(dict(backends)))

    def section(self, name: str) -> Mapping[str, Any]:
        """The typed values of section C{name}, defaults filled in."""
        return self._sections[name]

    def templated(self, name: str) -> Mapping[str, Mapping[str, Any]]:
        """Instance name -> typed values, for a templated section."""
        return self._templated.get(name, MappingProxyType({}))

    def backend(self, kind: str) -> Any:
        """The L{hubsd.backends.BackendPlugin} chosen for C{kind}."""
        return self._backends[kind]

    def __repr__(self) -> str:
        return f"<Config {self.path!r}>"


BackendLookup = Callable[[str, str], tuple[Any, str | None]]
"""(kind, name) -> (plugin or None, error message if not usable)."""

BackendKeys = Callable[[str], Iterable[str]]
"""kind -> every key that some installed backend of that kind declares."""

ConfigCheck = Callable[[Config], Iterable[tuple[str, str | None, str]]]
"""
A rule across sections: the config as parsed -> [(section, key, message)] for
each violation. Values that were invalid are absent; a rule that needs one
raises KeyError and is skipped.
"""


def _did_you_mean(word: str, known: Iterable[str]) -> str:
    """'; did you mean X?' for the nearest of C{known}, or '' if none is near."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.7)
    return f"; did you mean {close[0]}?" if close else ""


def _check_keys(
    path: str,
    title: str,
    raw: Mapping[str, str],
    options: Iterable[Option],
    problems: list[Problem],
    context: Mapping[str, str],
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    known = {opt.key: opt for opt in options}
    for key in raw:
        if key not in known:
            hint = context.get(key, "unknown key") + _did_you_mean(key, known)
            problems.append(Problem(path, title, key, hint))
    for key, opt in known.items():
        if key in raw:
            text = raw[key]
        elif opt.default is None:
            problems.append(Problem(path, title, key, f"required key is missing ({opt.doc})"))
            continue
        else:
            text = opt.default
        try:
            values[key] = opt.type.parse(text)
        except OptionError as e:
            problems.append(Problem(path, title, key, f"{e} (got {text!r})"))
    return values


def _syntax_message(error: configparser.Error) -> str:
    """A one-line description of an INI syntax error, with its line number."""
    if isinstance(error, configparser.MissingSectionHeaderError):
        return f"syntax error: line {error.lineno}: a key before any [section]: {error.line!r}"
    if isinstance(error, configparser.ParsingError):
        return "syntax error: " + "; ".join(
            f"line {lineno}: cannot parse {line.strip()!r}" for lineno, line in error.errors
        )
    if isinstance(error, configparser.DuplicateOptionError | configparser.DuplicateSectionError):
        what = getattr(error, "option", None) or error.section
        return f"syntax error: line {error.lineno}: {what!r} already exists"
    return f"syntax error: {error.message}"


def _choose_backend(
    path: str,
    spec: SectionSpec,
    raw: Mapping[str, str],
    find_backend: BackendLookup,
    problems: list[Problem],
) -> Any:
    """The plugin named by the section's ``backend`` key, or None (problem noted)."""
    assert spec.backend_kind is not None
    opt = spec.option("backend")
    assert opt is not None and opt.default is not None
    name = raw.get("backend", opt.default).strip()
    plugin, error = find_backend(spec.backend_kind, name)
    if error is not None:
        problems.append(Problem(path, spec.name, "backend", error))
    return plugin


def parse_config(
    text: str,
    path: str,
    schema: Iterable[SectionSpec],
    find_backend: BackendLookup,
    backend_keys: BackendKeys | None = None,
    checks: Iterable[ConfigCheck] = (),
) -> Config:
    """
    Parse and validate C{text} (the contents of C{path}) against C{schema}.

    Comments: a line starting with ``;`` or ``#`` is a comment, and so is
    the rest of a line from a ``;`` or ``#`` that follows whitespace, in
    every value (``passwd = /etc/x   ; chmod 600`` is ``/etc/x``). A value
    that needs such a character must not have whitespace before it.

    C{backend_keys} lets a section whose backend is unusable still report
    the keys that no backend of its kind knows. C{checks} are rules that
    span sections; one whose inputs are invalid is skipped (their problem
    is reported already).

    @raise ConfigError: with every problem found.
    """
    parser = configparser.ConfigParser(
        interpolation=None,
        strict=True,
        empty_lines_in_values=False,
        default_section="\x00",
        inline_comment_prefixes=(";", "#"),
    )
    try:
        parser.read_string(text, source=path)
    except configparser.Error as e:
        # configparser stops at the first syntax error.
        raise ConfigError([Problem(path, None, None, _syntax_message(e))]) from None

    specs = {spec.name: spec for spec in schema}
    problems: list[Problem] = []
    sections: dict[str, dict[str, Any]] = {}
    templated: dict[str, dict[str, dict[str, Any]]] = {
        s.name: {} for s in specs.values() if s.templated
    }
    backends: dict[str, Any] = {}

    for title in parser.sections():
        base, sep, instance = title.partition(":")
        spec = specs.get(base)
        if spec is None or spec.templated != bool(sep) or (sep and not instance):
            if spec is not None and spec.templated:
                msg = f"section must be named [{base}:NAME]"
            elif spec is not None:
                msg = f"section [{base}] takes no ':NAME' suffix"
            else:
                msg = "unknown section" + _did_you_mean(base, specs)
                msg += "; known: " + ", ".join(sorted(specs))
            problems.append(Problem(path, title, None, msg))
            continue

    for spec in specs.values():
        if spec.templated:
            prefix = spec.name + ":"
            for title in parser.sections():
                if title.startswith(prefix) and len(title) > len(prefix):
                    raw = dict(parser.items(title))
                    templated[spec.name][title[len(prefix) :]] = _check_keys(
                        path, title, raw, spec.options, problems, {}
                    )
            continue
        raw = dict(parser.items(spec.name)) if parser.has_section(spec.name) else {}
        options: tuple[Option, ...] = spec.options
        hints: dict[str, str] = {}
        if spec.backend_kind is not None:
            plugin = _choose_backend(path, spec, raw, find_backend, problems)
            if plugin is None:
                # The backend is unusable, so which of its keys are right is
                # unknowable; report only keys that no backend of this kind
                # declares (a typo stays visible, the real backend's keys
                # are not all flagged).
                some_backend = set(backend_keys(spec.backend_kind)) if backend_keys else set()
                for key in raw:
                    if spec.option(key) is None and key not in some_backend:
                        message = f"unknown key: no {spec.backend_kind} backend has it"
                        known = {o.key for o in spec.options} | some_backend
                        problems.append(
                            Problem(path, spec.name, key, message + _did_you_mean(key, known))
                        )
                raw = {k: v for k, v in raw.items() if spec.option(k) is not None}
            else:
                backends[spec.backend_kind] = plugin
                options += tuple(plugin.options)
                hints = dict.fromkeys(raw, f"not a key of backend {plugin.name!r}")
        values = _check_keys(path, spec.name, raw, options, problems, hints)
        if spec.check is not None and set(values) == {o.key for o in options}:
            for key, message in spec.check(values):
                problems.append(Problem(path, spec.name, key, message))
        sections[spec.name] = values

    config = Config(path, sections, templated, backends)
    for check in checks:
        try:
            found = list(check(config))
        except KeyError:
            # A value the rule needs is itself invalid (or its section is
            # missing): that problem is reported already.
            continue
        problems.extend(Problem(path, section, key, message) for section, key, message in found)
    if problems:
        raise ConfigError(problems)
    return config


def load_config(
    path: str,
    schema: Iterable[SectionSpec] | None = None,
    find_backend: BackendLookup | None = None,
) -> Config:
    """
    Read C{path} and validate it against hubsd's schema (with its rules
    across sections) and installed backends.

    @raise ConfigError: if the file cannot be read or has any problem.
    """
    checks: Iterable[ConfigCheck] = ()
    if schema is None:
        from hubsd.schema import CHECKS, SCHEMA

        schema, checks = SCHEMA, CHECKS
    backend_keys: BackendKeys | None = None
    if find_backend is None:
        from hubsd.backends import all_backend_keys
        from hubsd.backends import find_backend as lookup

        find_backend, backend_keys = lookup, all_backend_keys
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([Problem(path, None, None, f"cannot read config file: {e}")]) from None
    return parse_config(text, path, schema, find_backend, backend_keys, checks)
