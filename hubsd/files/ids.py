"""File ids: what the stores accept as a blob name."""

import re

from hubsd.files.errors import BadFileId

_FILE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def check_file_id(file_id: str) -> str:
    """Return C{file_id} if it is a lower-case UUID; raise L{BadFileId} otherwise."""
    if not isinstance(file_id, str) or not _FILE_ID.match(file_id):
        raise BadFileId(f"not a file id: {file_id!r}")
    return file_id
