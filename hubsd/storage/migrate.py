"""
Versioned schema migrations: numbered SQL files, one transaction each.

A migration is a file ``NNNN_description.sql`` (for every dialect) or
``NNNN_description.<dialect>.sql`` (only for that dialect: ``sqlite`` or
``postgres``) in the migrations directory. Each backend applies the pending
ones in order, each in its own transaction together with the row recording its
version in ``schema_migrations``, so a failing migration leaves nothing behind.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hubsd.storage.errors import MigrationFailed, SchemaTooNew

#: The migrations shipped with hubsd.
DEFAULT_MIGRATIONS = Path(__file__).parent / "migrations"
DIALECTS = ("sqlite", "postgres")

_NAME = re.compile(r"^(?P<version>\d+)_(?P<name>[A-Za-z0-9_-]+)(?:\.(?P<dialect>\w+))?\.sql$")


@dataclass(frozen=True)
class Migration:
    """One schema version: its number, a name for humans, and its SQL."""

    version: int
    name: str
    sql: str


def load_migrations(directory: str | Path, dialect: str) -> list[Migration]:
    """
    Read the migrations for C{dialect} from C{directory}, in version order.

    @raise MigrationFailed: if the directory cannot be read, a version appears
        twice for this dialect, or a file names an unknown dialect.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    folder = Path(directory)
    found: dict[int, Migration] = {}
    try:
        paths = sorted(folder.iterdir())
    except OSError as e:
        raise MigrationFailed(f"cannot read migrations directory {folder}: {e}") from e
    for path in paths:
        match = _NAME.match(path.name)
        if match is None:
            continue
        file_dialect = match.group("dialect")
        if file_dialect is not None and file_dialect not in DIALECTS:
            raise MigrationFailed(f"migration {path} names an unknown dialect {file_dialect!r}")
        if file_dialect not in (None, dialect):
            continue
        version = int(match.group("version"))
        if version in found:
            raise MigrationFailed(f"two migrations with version {version} in {folder}")
        found[version] = Migration(version, match.group("name"), path.read_text("utf-8"))
    return [found[version] for version in sorted(found)]


def pending_migrations(migrations: list[Migration], applied: Iterable[int]) -> list[Migration]:
    """
    The migrations not yet applied, in order.

    @raise SchemaTooNew: if the database records a version newer than the
        newest migration known here.
    """
    done = set(applied)
    known = max((m.version for m in migrations), default=0)
    newest = max(done, default=0)
    if newest > known:
        raise SchemaTooNew(newest, known)
    return [m for m in migrations if m.version not in done]


def failed(migration: Migration, reason: object) -> MigrationFailed:
    """The error for a migration that could not be applied (and was rolled back)."""
    return MigrationFailed(
        f"schema migration {migration.version:04d}_{migration.name} failed and was "
        f"rolled back: {reason}"
    )
